resource "file" "x" {
  path = "x"
  content = "unterminated
}
