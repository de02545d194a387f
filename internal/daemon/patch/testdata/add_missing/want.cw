// Comment above the block.
resource "command" "migrate" {
  command = "make migrate" // inline

  # a comment before the end
  retries = 3
}
