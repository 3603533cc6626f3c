output "endpoint" {
  value = "school.${terraform_data.school.output.environment}.internal:${terraform_data.school.output.size}"
}
