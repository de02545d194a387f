provider "docker" {
  alias = "remote"
  host  = "ssh://deploy@example.com"
}

provider "docker" {
  source  = "clockwork/docker"
  version = "~> 1.0"
}

provider "ssh" {
  alias = "web"
  hosts = ["10.0.0.1", "10.0.0.2"]
  user  = var.user
}

provider "kubernetes" {
  context = "prod"
}

variable "user" {
  type    = string
  default = "deploy"
}

resource "service" "remote" {
  name     = "r"
  image    = "nginx"
  provider = docker.remote
}

resource "service" "legacy" {
  name     = "l"
  image    = "nginx"
  provider = "docker.remote"
}

resource "file" "onhost" {
  path     = "/etc/motd"
  content  = "hi"
  provider = ssh.web
}

resource "image" "img" {
}

resource "service" "proc" {
  name    = "p"
  command = ["sleep", "1000"]
}
