resource "file" "both" {
  count    = 2
  for_each = toset(["a"])
  path     = "x"
  content  = ""
}

resource "file" "noidx" {
  path    = "x${count.index}"
  content = each.key
}

resource "file" "list" {
  for_each = ["a", "b"]
  path     = each.value
  content  = ""
}

resource "file" "neg" {
  count   = -1
  path    = "n"
  content = ""
}

resource "file" "frac" {
  count   = 1.5
  path    = "n"
  content = ""
}

resource "file" "t" {
  path    = "t"
  content = ""
  timeout = "soon"
  retries = -2
}

resource "file" "deps" {
  path       = "d"
  content    = ""
  depends_on = ["file.missing", var.x, "not an address!", module.nope]
}

resource "service" "s" {
  name  = "s"
  image = "i"
  volumes = [var.undeclared, local.undeclared, file.nope.path, directory.d.path, self.path]
}

resource "image" "deferred_count" {
  tags = ["x"]
}

resource "file" "dc" {
  count   = length(image.deferred_count.ref)
  path    = "dc"
  content = ""
}

resource "command" "out" {
  command = "true"
}

resource "file" "whole_outputs" {
  path    = "wo"
  content = jsonencode(command.out.outputs)
}
