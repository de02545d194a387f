resource "directory" "old" {
  path = "old"
}

resource "file" "keep" {
  path    = "keep.txt"
  content = "kept"
}
