# the school service: a stand-in resource, so the stack plans and applies offline
resource "terraform_data" "school" {
  input = {
    environment = var.environment
    size        = var.school_replicas
  }
}
