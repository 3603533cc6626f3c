# the zookeeper ensemble: a stand-in resource, so the stack plans and applies offline
resource "terraform_data" "zookeeper" {
  input = {
    environment = var.environment
    size        = var.zookeeper_nodes
  }
}
