# A small environment made only of terraform's built-in terraform_data resource,
# so it plans and applies offline. Variables cover every tfvars type Furrow passes.

variable "name" {
  type    = string
  default = "env"
}

variable "replicas" {
  type    = number
  default = 1
}

variable "public" {
  type    = bool
  default = false
}

variable "services" {
  type    = list(string)
  default = ["api"]
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "generation" {
  type    = number
  default = 1
}

variable "banner_width" {
  type    = number
  default = 10
}

resource "terraform_data" "service" {
  for_each = toset(var.services)
  input = {
    env      = var.name
    service  = each.key
    replicas = var.replicas
    public   = var.public
    tags     = var.tags
  }
}

# Replaced whenever the generation changes.
resource "terraform_data" "rollout" {
  triggers_replace = var.generation
}

resource "terraform_data" "credential" {
  input = sensitive("s3cr3t-${var.name}")
}

output "endpoints" {
  value = { for service in var.services : service => "${service}.${var.name}.example.test" }
}

output "replicas" {
  value = var.replicas
}

output "public" {
  value = var.public
}

output "tags" {
  value = var.tags
}

output "token" {
  value     = "s3cr3t-${var.name}"
  sensitive = true
}

# Long enough (banner_width characters) to overflow a pipe buffer when asked.
output "banner" {
  value = format("%0${var.banner_width}d", 0)
}
