# One small environment per workspace, made of terraform's built-in terraform_data
# resource so the benchmark runs offline and measures terraform itself.

variable "name" {
  type    = string
  default = "env"
}

resource "terraform_data" "service" {
  for_each = toset(["api", "dashboard", "gateway"])
  input    = "${each.key}.${var.name}"
}

output "endpoints" {
  value = { for key, service in terraform_data.service : key => service.output }
}
