# Written in the style of earlier Clockwork files.
variable "app_name" {
  type        = "string"
  default     = "example-app"
  description = "Application name"
}

variable "port" {
  type    = "number"
  default = 8080
}

variable "tags" {
  type    = "list"
  default = ["a", "b"]
}

variable "labels" {
  type    = "map"
  default = { team = "web" }
}

variable "debug" {
  type    = "bool"
  default = false
}

provider "local" {
  source = "local"
}

resource "service" "web" {
  name  = var.app_name
  image = "nginx:latest"
  ports = [{
    external = var.port
    internal = 80
  }]

  environment = {
    SERVER_NAME = var.app_name
    PORT        = 80
    DEBUG       = var.debug
  }

  retries = 3
  timeout = 30

  health_check {
    path     = "/"
    interval = "30s"
    timeout  = "5s"
  }
}

resource "service" "api" {
  name  = "${var.app_name}-api"
  image = "python:3.11-slim"
  ports = [{ external = 3000, internal = 3000 }]

  depends_on = ["service.web"]

  health_check = {
    path     = "/health"
    interval = "1m"
  }

  environment = {
    WEB_URL = "http://localhost:${var.port}"
    TAGS    = join(",", var.tags)
    TEAM    = var.labels["team"]
  }
  timeout = "2m"
}

output "app_url" {
  value = "http://localhost:${var.port}"
}
