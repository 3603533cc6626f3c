# the kafka cluster: a stand-in resource, so the stack plans and applies offline
resource "terraform_data" "kafka" {
  input = {
    environment = var.environment
    size        = var.kafka_brokers
  }
}
