variable "p" {
  default = true
}
resource "file" "bad" {
  path    = "bad"
  content = "x"
  lifecycle {
    prevent_destroy = var.p
    ignore_changes  = [colour]
    create_before_destroy = true
    bogus = 1
  }
}
