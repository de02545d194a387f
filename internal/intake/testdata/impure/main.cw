resource "file" "f" {
  path    = "f.txt"
  content = "created at ${timestamp()}"
}

resource "command" "c" {
  command = "echo ${uuid()}"
  workdir = abspath(".")
}

output "t" {
  value = plantimestamp()
}

output "nope" {
  value = notafunction(1)
}
