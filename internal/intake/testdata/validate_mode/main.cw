variable "name" {
  type = string
}
variable "n" {
  type = number
}
variable "sites" {
  type = set(string)
}
resource "service" "web" {
  name  = var.name
  image = "nginx"
}
resource "directory" "d" {
  count = var.n
  path  = "d/${count.index}"
}
resource "directory" "s" {
  for_each = var.sites
  path     = each.key
}
resource "file" "f" {
  path    = "f"
  content = directory.d[0].path
}
