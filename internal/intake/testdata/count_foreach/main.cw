variable "sites" {
  type = map(object({ port = number }))
  default = {
    blog = { port = 8081 }
    shop = { port = 8082 }
  }
}

resource "directory" "d" {
  count = 3
  path  = "data/${count.index}"
}

resource "service" "site" {
  for_each = var.sites
  name     = each.key
  image    = "nginx"
  ports    = [{ external = each.value.port, internal = 80 }]
  volumes  = ["${directory.d[1].path}:/data"]
}

resource "file" "users" {
  for_each = toset(["alice", "bob"])
  path     = "users/${each.value}"
  content  = "user ${each.key}\n"
}

resource "file" "index" {
  path    = "index.txt"
  content = join("\n", [for k, s in service.site : "${k}=${s.ports[0].external}"])
  depends_on = [directory.d]
}

resource "check" "all" {
  count = length(directory.d)
  type  = "file_exists"
  path  = directory.d[count.index].path
}

resource "file" "none" {
  count   = 0
  path    = "never"
  content = ""
}

output "paths" {
  value = directory.d[*].path
}

output "user_files" {
  value = { for k, f in file.users : k => f.path }
}
