resource "file" "keep" {
  path    = "keep"
  content = "x"
  lifecycle {
    prevent_destroy = true
    ignore_changes  = [content, "mode"]
  }
}

resource "file" "all" {
  path    = "all"
  content = "x"
  lifecycle {
    ignore_changes = all
  }
}
