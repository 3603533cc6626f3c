variable "environment" {
  type        = string
  description = "name of the environment"
}

variable "kafka_brokers" {
  type        = number
  default     = 3
  description = "size of the kafka cluster"
}

variable "kafka_admin_password" {
  type        = string
  description = "password of the kafka admin user"
  sensitive   = true
}
