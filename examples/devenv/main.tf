# The developer-environment configuration the jobs apply: one terraform workspace per
# environment. Offline and provider-free: terraform_data stands in for the ECS services,
# and the `endpoints` output is what chitragupta publishes in DNS.

variable "name" {
  type        = string
  description = "environment name (also the workspace name)"
}

variable "tyk" {
  type    = string
  default = "master"
}

variable "tyk-analytics" {
  type    = string
  default = "master"
}

variable "tyk-pump" {
  type    = string
  default = "master"
}

variable "base" {
  type    = string
  default = "base-prod"
}

variable "infra" {
  type    = string
  default = "infra-prod"
}

variable "fail" {
  type        = bool
  default     = false
  description = "make the apply fail (for testing how the jobs isolate failures)"
}

locals {
  # Test conventions: environments named broken-* fail to apply, slow-* take 15 s.
  fails = var.fail || startswith(var.name, "broken-")
  delay = startswith(var.name, "slow-") ? 15 : 0
}

resource "terraform_data" "service" {
  for_each = {
    tyk             = var.tyk
    "tyk-analytics" = var.tyk-analytics
    "tyk-pump"      = var.tyk-pump
  }
  input = {
    image = "${each.key}:${each.value}"
    env   = var.name
    base  = var.base
    infra = var.infra
  }

  lifecycle {
    precondition {
      condition     = !local.fails
      error_message = "environment ${var.name} was asked to fail"
    }
  }
}

resource "terraform_data" "rollout" {
  depends_on = [terraform_data.service]
  input      = var.name

  provisioner "local-exec" {
    command = "sleep ${local.delay}"
  }
}

locals {
  # A stable pseudo address per environment and service, as a load balancer would give.
  octet = parseint(substr(sha1(var.name), 0, 2), 16)
}

output "endpoints" {
  description = "public address of each exposed service"
  value = {
    tyk             = "10.20.${local.octet}.10"
    "tyk-analytics" = "10.20.${local.octet}.11"
  }
}

output "images" {
  value = { for k, r in terraform_data.service : k => r.output.image }
}
