variable "name" {
  type = string
}
variable "port" {
  type = number
}
variable "network" {
  type    = string
  default = "bridge"
}
variable "replicas" {
  type    = number
  default = 1
}

resource "image" "app" {
  tags = ["${var.name}:latest"]
}

resource "service" "app" {
  name     = var.name
  image    = image.app.ref
  networks = [var.network]
  ports    = [{ external = var.port, internal = 80 }]
  health_check {
    path = "/health"
  }
}

module "sidecar" {
  source = "./modules/sidecar"
  target = service.app.name
}

output "url" {
  value = "http://127.0.0.1:${var.port}/"
}

output "image_ref" {
  value = image.app.ref
}
