resource "file" "a" {
  path    = "a.txt"
  content = file.c.path
}

resource "file" "b" {
  path    = "b.txt"
  content = file.a.path
}

resource "file" "c" {
  path    = "c.txt"
  content = file.b.path
}

resource "file" "free" {
  path    = "free.txt"
  content = file.a.path
}
