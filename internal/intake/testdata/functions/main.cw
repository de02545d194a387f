locals {
  names   = ["web", "api", "web", "db"]
  uniq    = distinct(local.names)
  cfg     = jsondecode(file("tmpl/config.json"))
  nums    = [3, 1, 2]
  objects = { for n in local.uniq : n => upper(n) }
}

resource "file" "strings" {
  path = "strings.txt"
  content = join("\n", [
    upper("a"), lower("B"), title("hello world"), trimspace("  x  "),
    format("%s-%03d", "id", 7), replace("a.b.c", ".", "/"), substr("clockwork", 0, 5),
    join(",", split(":", "a:b:c")), strrev("abc"), chomp("line\n"), indent(2, "a\nb"),
    trimprefix("v1.2", "v"), trimsuffix("app.cw", ".cw"), trim("--x--", "-"),
    join(",", formatlist("n=%s", local.uniq)), tostring(length("héllo")),
    regex("[0-9]+", "abc123"), join(",", regexall("[a-z]", "a1b2")),
    regex_replace("a1b2", "[0-9]", "#"),
  ])
}

resource "file" "collections" {
  path = "collections.txt"
  content = jsonencode({
    concat   = concat([1], [2, 3])
    contains = contains(local.names, "db")
    element  = element(local.names, 5)
    flatten  = flatten([[1], [2, [3]]])
    keys     = keys({ b = 1, a = 2 })
    values   = values({ b = 1, a = 2 })
    lookup   = lookup({ a = "x" }, "b", "default")
    merge    = merge({ a = 1 }, { b = 2 }, { a = 3 })
    range    = range(3)
    reverse  = reverse(local.nums)
    slice    = slice(local.names, 1, 3)
    sort     = sort(local.names)
    zipmap   = zipmap(["a", "b"], [1, 2])
    coalesce = coalesce("", "first")
    compact  = compact(["a", "", "b"])
    index    = index(local.names, "api")
    length   = length(local.names)
    setunion = sort(setunion(["a"], ["b", "a"]))
    chunk    = chunklist([1, 2, 3], 2)
    objects  = local.objects
    try      = try(local.cfg.missing, "fallback")
    can      = can(local.cfg.name)
    forexpr  = [for n in local.uniq : n if n != "db"]
    splat    = [for o in [{ n = 1 }, { n = 2 }] : o.n]
    cond     = length(local.names) > 2 ? "many" : "few"
  })
}

resource "file" "numbers" {
  path = "numbers.txt"
  content = jsonencode([abs(-3), ceil(1.2), floor(1.8), max(local.nums...), min(3, 4), parseint("ff", 16), pow(2, 10), signum(-5), tonumber("42"), tobool("true"), log(8, 2)])
}

resource "file" "encoding" {
  path = "encoding.txt"
  content = join("\n", [
    base64encode("hello"), base64decode("aGVsbG8="), sha256("hello"), sha1("hello"), md5("hello"),
    csvdecode("a,b\n1,2")[0].b,
  ])
}

resource "file" "files" {
  path    = "files.txt"
  content = "${local.cfg.name} ${fileexists("tmpl/config.json")} ${fileexists("nope")} ${templatefile("tmpl/motd.tpl", { name = "clockwork", items = ["a", "b"] })}"
}

resource "file" "rendered" {
  path     = "rendered.txt"
  template = "tmpl/motd.tpl"
  vars     = { name = "resource", items = local.uniq }
}

resource "file" "dates" {
  path    = "dates.txt"
  content = "${formatdate("YYYY-MM-DD", "2024-01-02T03:04:05Z")} ${timeadd("2024-01-02T03:04:05Z", "1h")}"
}

resource "file" "terraform_extras" {
  path = "extras.txt"
  content = jsonencode([
    startswith("clockwork", "clock"), endswith("main.cw", ".cw"), strcontains("abc", "x"),
    alltrue([true, true]), anytrue([false, true]), sum([1, 2, 3.5]), one(["only"]), one([]),
    urlencode("a b&c"), base64sha256("hello"),
  ])
}
