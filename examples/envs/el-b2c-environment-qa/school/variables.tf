variable "environment" {
  type        = string
  description = "name of the environment"
}

variable "school_replicas" {
  type        = number
  default     = 1
  description = "size of the school service"
}
