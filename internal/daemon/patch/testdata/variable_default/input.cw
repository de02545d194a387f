variable "port" {
  type        = "number"
  default     = 8080
  description = "External port for the web service"
}

variable "other" {
  default = 1
}
