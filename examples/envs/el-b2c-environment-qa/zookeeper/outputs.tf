output "endpoint" {
  value = "zookeeper.${terraform_data.zookeeper.output.environment}.internal:${terraform_data.zookeeper.output.size}"
}
