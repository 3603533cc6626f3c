variable "environment" {
  type        = string
  description = "name of the environment"
}

variable "cassandra_nodes" {
  type        = number
  default     = 3
  description = "size of the cassandra ring"
}
