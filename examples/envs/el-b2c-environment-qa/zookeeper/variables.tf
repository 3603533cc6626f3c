variable "environment" {
  type        = string
  description = "name of the environment"
}

variable "zookeeper_nodes" {
  type        = number
  default     = 3
  description = "size of the zookeeper ensemble"
}
