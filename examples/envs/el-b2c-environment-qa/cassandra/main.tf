# the cassandra ring: a stand-in resource, so the stack plans and applies offline
resource "terraform_data" "cassandra" {
  input = {
    environment = var.environment
    size        = var.cassandra_nodes
  }
}
