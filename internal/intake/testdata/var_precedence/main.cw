variable "a" {
  type    = string
  default = "default"
}
variable "b" {
  type    = string
  default = "default"
}
variable "c" {
  type    = string
  default = "default"
}
variable "d" {
  type    = string
  default = "default"
}
variable "e" {
  type    = string
  default = "default"
}
variable "f" {
  type    = string
  default = "default"
}
variable "ports" {
  type    = list(number)
  default = []
}
variable "settings" {
  type = object({
    name    = string
    replicas = optional(number, 1)
  })
}
variable "token" {
  type      = string
  sensitive = true
}
variable "size" {
  type    = number
  default = 3
  validation {
    condition     = var.size > 0 && var.size < 10
    error_message = "size must be between 1 and 9"
  }
}

resource "file" "f" {
  path    = "out.txt"
  content = join(" ", [var.a, var.b, var.c, var.d, var.e, var.f, var.settings.name, tostring(var.settings.replicas), tostring(length(var.ports))])
}

resource "command" "c" {
  command     = "deploy"
  environment = { TOKEN = var.token }
}

output "token" {
  value     = var.token
  sensitive = true
}
