variable "name" {
  type = string
}
resource "service" "web" {
  name  = var.name
  image = "nginx"
}
