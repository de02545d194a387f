module "missing" {
  source = "./nope"
}

module "registry" {
  source  = "hashicorp/consul/aws"
  version = "1.0"
}

module "m" {
  source  = "./modules/m"
  version = "1.0"
  bogus   = 1
  size    = "big"
}

module "unpinned" {
  source = "git::https://example.com/x.git"
}

module "nosource" {
  name = "x"
}

module "counted" {
  source = "./modules/m"
  count  = 2
  need   = "x"
}

output "x" {
  value = module.m.nothing
}

output "y" {
  value = module.ghost.x
}

module "m" {
  source = "./modules/m"
  need   = "again"
}
