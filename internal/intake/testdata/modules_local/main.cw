variable "env" {
  type    = string
  default = "prod"
}

resource "network" "net" {
  name = "net-${var.env}"
}

module "web" {
  source  = "./modules/web"
  name    = "web-${var.env}"
  port    = 8080
  network = network.net.name
}

module "api" {
  source     = "./modules/web"
  name       = "api"
  port       = 9090
  network    = "other"
  depends_on = [module.web]
}

resource "check" "web" {
  type = "http"
  url  = module.web.url
}

output "web_url" {
  value = module.web.url
}

output "image" {
  value = module.api.image_ref
}
