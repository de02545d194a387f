module "again" {
  source = "./"
}
module "a" {
  source = "./modules/a"
}
