resource "file" "keep" {
  path    = "keep.txt"
  content = "kept"
}
