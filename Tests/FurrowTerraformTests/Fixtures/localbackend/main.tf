# An explicit local backend, configured at init time through -backend-config.
terraform {
  backend "local" {}
}

resource "terraform_data" "marker" {
  input = terraform.workspace
}

output "workspace" {
  value = terraform_data.marker.output
}
