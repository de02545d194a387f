module "loop" {
  source = "../a"
}
module "loop2" {
  source = "./"
}
