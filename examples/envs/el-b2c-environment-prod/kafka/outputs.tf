output "endpoint" {
  value = "kafka.${terraform_data.kafka.output.environment}.internal:${terraform_data.kafka.output.size}"
}

output "admin_password" {
  value     = var.kafka_admin_password
  sensitive = true
}
