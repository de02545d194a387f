resource "service" "web" {
  ports {
    external = 8080
    internal = 80
  }
  # second mapping
  ports {
    external = 8444 # tls
    internal = 443
  }
}
