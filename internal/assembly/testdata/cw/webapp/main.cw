variable "db_password" {
  type      = string
  sensitive = true
  default   = "hunter2-xyz"
}

resource "git_repo" "src" {
  url  = "https://example.com/app.git"
  ref  = "v1"
  path = "src"
}

resource "image" "app" {
  context = git_repo.src.path
  tags    = ["app:dev"]
}

resource "service" "web" {
  name  = "web"
  image = image.app.ref
  ports = [{ external = 8080, internal = 80 }]
  environment = {
    DB_PASSWORD = var.db_password
    COMMIT      = git_repo.src.commit
  }
  health_check {
    path = "/health"
  }
  retries = 2
  timeout = 30
}

resource "file" "cfg" {
  count   = 2
  path    = "out/cfg${count.index}.txt"
  content = "password=${var.db_password}"
}

resource "command" "migrate" {
  command    = ["echo", image.app.ref]
  on_destroy = "echo bye"
}

resource "check" "home" {
  type       = "http"
  url        = "http://127.0.0.1:8080/"
  depends_on = [service.web]
}
