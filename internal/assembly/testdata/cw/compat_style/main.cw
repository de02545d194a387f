# Written the way earlier Clockwork files were.
provider "local" {
  source = "local"
}

variable "app_name" {
  type    = "string"
  default = "demo"
}

variable "port" {
  type    = "number"
  default = 8080
}

resource "directory" "www" {
  path = "www"
}

resource "file" "index" {
  path       = "www/index.html"
  content    = "<h1>${var.app_name}</h1>"
  depends_on = ["directory.www"]
}

resource "service" "web" {
  name    = "${var.app_name}-web"
  command = ["python3", "-m", "http.server", "${var.port}"]
  workdir = "www"
  environment = {
    APP = var.app_name
  }
  health_check = {
    path = "/index.html"
    port = var.port
  }
  retries    = 3
  timeout    = 30
  depends_on = ["file.index"]
}
