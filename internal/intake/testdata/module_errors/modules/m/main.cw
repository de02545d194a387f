variable "need" {
  type = string
}
variable "size" {
  type = number
  default = 1
}
provider "docker" {}
