# Applying takes sleep_seconds: long enough to hold the state lock, time out or be killed.

variable "sleep_seconds" {
  type    = number
  default = 30
}

resource "terraform_data" "slow" {
  input = var.sleep_seconds

  provisioner "local-exec" {
    command = "sleep ${var.sleep_seconds}"
  }
}

output "slept" {
  value = terraform_data.slow.output
}
