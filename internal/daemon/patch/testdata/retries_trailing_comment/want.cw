resource "command" "migrate" {
  command = "make migrate"
  retries = 4 # flaky network
  timeout = "30s"
}
