variable "ok" {
  default = 1
}
resource "file" "y" {
  path = "y"
  content = "${var.ok}"
}
