output "endpoint" {
  value = "cassandra.${terraform_data.cassandra.output.environment}.internal:${terraform_data.cassandra.output.size}"
}
