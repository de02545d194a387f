resource "webapp" "demo" {
  name = "x"
}

resource "service" "web" {
  image   = 42
  ports   = [{ external = "eighty", internal = 80, bogus = true }]
  colour  = "blue"
  restart = ["always"]
  health_check {
    path = "/"
    wat  = 1
  }
  health_check {
    path = "/again"
  }
}

resource "service" "web" {
  name = "dup"
}

resource "file" "both" {
  path    = "a"
  content = "x"
  source  = "y"
  mode    = "rwxr"
}

resource "file" "none" {
  path = "b"
}

resource "check" "http" {
  type = "http"
}

resource "check" "bad" {
  type = "smtp"
}

resource "git_repo" "r" {
  url   = "x"
  path  = "y"
  depth = -1
}

resource "command" "c" {
  command = { run = "x" }
}

resource "service" "proc" {
  name = "p"
  health_check = {
    path = "/"
  }
  command = ["./run"]
}

thing "x" {}

output "o" {
  value = webapp.demo.url
}

resource "service" "hc2" {
  name  = "x"
  image = "y"
  health_check = { path = "/" }
  health_check {
    path = "/z"
  }
}

resource "task" "t" {
  inputs = "not a map"
}
