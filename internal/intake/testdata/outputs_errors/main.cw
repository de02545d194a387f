variable "secret" {
  type      = string
  default   = "hunter2"
  sensitive = true
}

output "leak" {
  value = "pw=${var.secret}"
}

output "ok" {
  value     = var.secret
  sensitive = true
}

output "ok" {
  value = 1
}

output "missing" {
  description = "no value"
}

output "undeclared" {
  value = var.nope
}

locals {
  a = 1
}

locals {
  a = 2
}
