# A repository checked out at a pinned tag, then a build step guarded by
# `creates` so it runs once. The "upstream" repository is created locally by
# the first command, so the example needs no network.
#
#   clockwork apply --chdir examples/repo

variable "tag" {
  type    = string
  default = "v1.0"
}

resource "command" "upstream" {
  command = <<-EOT
    set -e
    mkdir -p upstream
    cd upstream
    git init -q
    printf 'hello from the upstream repository\n' > README
    git add README
    git -c user.email=clockwork@example.invalid -c user.name=clockwork commit -qm "first commit"
    git tag ${var.tag}
  EOT
  creates = "upstream/.git"
}

resource "git_repo" "app" {
  url        = "upstream"
  ref        = var.tag
  path       = "checkout"
  depends_on = [command.upstream]
}

resource "command" "build" {
  command    = "cp checkout/README build-output.txt"
  creates    = "build-output.txt"
  depends_on = [git_repo.app]
}

resource "check" "built" {
  type       = "file_exists"
  path       = "build-output.txt"
  depends_on = [command.build]
}

output "commit" {
  value = git_repo.app.commit
}
