resource "command" "migrate" {
  command = "make migrate"
  retries = 1 # flaky network
  timeout = "30s"
}
