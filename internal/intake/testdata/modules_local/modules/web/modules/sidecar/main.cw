variable "target" {
  type = string
}
resource "file" "conf" {
  path    = "sidecar-${var.target}.conf"
  content = templatefile("sidecar.tpl", { target = var.target })
}
