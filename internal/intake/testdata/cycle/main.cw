resource "file" "a" {
  path    = "a"
  content = file.b.path
}

resource "file" "b" {
  path       = "b"
  content    = local.c
}

locals {
  c = file.a.path
}

resource "file" "self" {
  path    = "self"
  content = file.self.path
}

resource "file" "after" {
  path    = "after"
  content = file.a.content
}

resource "file" "dep1" {
  path       = "d1"
  content    = ""
  depends_on = ["file.dep2"]
}

resource "file" "dep2" {
  path       = "d2"
  content    = ""
  depends_on = [file.dep1]
}
