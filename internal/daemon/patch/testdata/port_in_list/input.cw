# The web service. Keep this comment.
resource "service" "web" {
  name  = "web"
  image = "nginx:latest" # pinned later
  ports = [{
    external = 8080 # the port users hit
    internal = 80
  }, {
    external = 9090
    internal = 90
  }]

  /* block comment survives */
  health_check {
    path = "/"
  }
}
