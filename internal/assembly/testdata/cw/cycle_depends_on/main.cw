resource "directory" "a" {
  path       = "a"
  depends_on = [check.c]
}

resource "file" "b" {
  path       = "a/b.txt"
  content    = "b"
  depends_on = [directory.a]
}

resource "check" "c" {
  type       = "file_exists"
  path       = file.b.path
}
