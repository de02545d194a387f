# A small website: a directory with two files, served by a local process
# (python3's http.server on 127.0.0.1), checked over HTTP after it starts.
#
#   clockwork apply --chdir examples/web
#   curl http://127.0.0.1:8088/

variable "port" {
  type        = number
  default     = 8088
  description = "Port the site listens on (127.0.0.1 only)"
}

variable "title" {
  type    = string
  default = "Hello from Clockwork"
}

resource "directory" "site" {
  path = "site"
}

resource "file" "index" {
  path    = "${directory.site.path}/index.html"
  content = templatefile("index.html.tpl", { title = var.title, port = var.port })
}

resource "file" "health" {
  path    = "${directory.site.path}/health"
  content = "ok\n"
}

resource "service" "web" {
  name    = "clockwork-example-web"
  command = ["python3", "-m", "http.server", tostring(var.port), "--bind", "127.0.0.1", "--directory", directory.site.path]

  health_check {
    path     = "/health"
    port     = var.port
    interval = "1s"
    retries  = 20
  }

  depends_on = [file.index, file.health]
}

output "url" {
  value       = "http://127.0.0.1:${var.port}/"
  description = "Where the site answers"
}
