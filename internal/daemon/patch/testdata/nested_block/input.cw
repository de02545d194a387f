resource "service" "api" {
  command = ["python3", "-m", "http.server", "8000"]

  health_check {
    path    = "/"   # root
    timeout = "5s"  # short on purpose?
    retries = 3
  }
}
