resource "file" "conf" {
  path    = "out/app.conf"
  content = "listen 8080\n"
}

resource "file" "copy" {
  path   = "out/copy.txt"
  source = "files/src.txt"
  mode   = "600"
}

resource "directory" "out" {
  path = "out"
}

resource "git_repo" "app" {
  url  = "https://example.com/app.git"
  path = "src/app"
}

resource "image" "app" {
  context    = git_repo.app.path
  tags       = ["app:dev"]
  build_args = { VERSION = 1 }
}

resource "network" "net" {
  name = "appnet"
}

resource "volume" "data" {
  name   = "appdata"
  labels = { owner = "me" }
}

resource "service" "proc" {
  name    = "worker"
  command = ["python3", "-m", "http.server", "9000"]
  workdir = "src/app"
  health_check {
    port = 9000
  }
}

resource "service" "shell" {
  name    = "shell"
  command = "while true; do sleep 1; done"
}

resource "service" "web" {
  name     = "web"
  image    = image.app.ref
  networks = [network.net.name]
  volumes  = ["${volume.data.name}:/data"]
  memory   = "256m"
  cpus     = 0.5
  ports    = [{ external = 8080, internal = 80, protocol = "tcp", host_ip = "0.0.0.0" }]
  logging {
    driver = "json-file"
    opts   = { max-size = "10m" }
  }
}

resource "command" "migrate" {
  command     = "make migrate"
  creates     = "out/migrated"
  environment = { DB = "x" }
  on_destroy  = "make rollback"
}

resource "command" "argv" {
  command = ["echo", "hi"]
  unless  = "test -f x"
  only_if = "true"
  workdir = "out"
}

resource "check" "http" {
  type        = "http"
  url         = "http://127.0.0.1:8080/"
  expect_body = "ok"
  timeout     = "5s"
  retries     = 5
  interval    = 2
}

resource "check" "tcp" {
  type    = "tcp"
  address = "127.0.0.1:8080"
}

resource "check" "file" {
  type = "file_exists"
  path = file.conf.path
}

resource "check" "cmd" {
  type    = "command"
  command = "curl -sf http://127.0.0.1:8080/"
}

resource "task" "rotate" {
  intent = "rotate the nginx logs daily"
  inputs = { keep = 7, paths = ["/var/log/nginx"] }
}
