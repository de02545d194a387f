variable "port" {
  type = number
}
variable "name" {
  type = string
}
variable "mode" {
  type    = "strnig"
  default = "x"
}
variable "size" {
  type    = number
  default = 20
  validation {
    condition     = var.size < 10
    error_message = "size must be below 10"
  }
}
variable "list" {
  type    = list(string)
  default = "notalist"
}
variable "port" {
  type = number
}
