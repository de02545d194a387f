provider "aws" {
  region = "x"
}

provider "docker" {
  source = "hashicorp/docker"
}

provider "local" {}
provider "local" {}

resource "service" "a" {
  name     = "a"
  image    = "x"
  provider = docker.nope
}

resource "service" "b" {
  name     = "b"
  image    = "x"
  provider = "gcp"
}

resource "service" "c" {
  name     = "c"
  image    = "x"
  provider = docker.a.b
}
