resource "git_repo" "app" {
  url  = "https://example.com/app.git"
  ref  = "v1.0"
  path = "src"
}

resource "image" "app" {
  context    = git_repo.app.path
  tags       = ["app:${git_repo.app.ref}"]
  build_args = { COMMIT = git_repo.app.commit }
}

resource "command" "version" {
  command = "echo VERSION=1.2.3 >> $CW_OUTPUT"
}

resource "service" "web" {
  name        = "web"
  image       = image.app.ref
  environment = {
    VERSION = command.version.outputs.VERSION
    IMAGE   = "built:${image.app.id}"
  }
}

locals {
  ref = image.app.ref
}

resource "file" "ref" {
  path    = "ref.txt"
  content = local.ref
}

output "image" {
  value = image.app.ref
}

output "commit" {
  value = git_repo.app.commit
}

output "version" {
  value = command.version.outputs.VERSION
}

output "pending" {
  value = "id=${image.app.id}"
}

output "container" {
  value = service.web.container_id
}
