variable "port" {
  type        = "number"
  default     = 8081
  description = "External port for the web service"
}

variable "other" {
  default = 1
}
