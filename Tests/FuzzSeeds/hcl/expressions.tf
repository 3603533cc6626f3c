variable "count" {
  type    = number
  default = 3
  description = <<-EOT
    How many, ${"interpolated"} and %{ if true }directed%{ endif }.
  EOT
}

locals {
  names = [for i in range(var.count) : "n-${i}" if i % 2 == 0]
  map   = { for k, v in var.tags : k => upper(v)... }
  cond  = var.count > 1 ? -1.5e3 : null
  splat = aws_instance.web[*].id
}

resource "aws_instance" "web" {
  ami = "ami-123"
  tags = { Name = "web", "quoted key" = true }
  dynamic "ebs" {
    for_each = local.names
    content { size = 10 }
  }
}

terraform {
  backend "s3" {
    bucket = "state"
    key    = "dev/terraform.tfstate"
  }
}

output "ip" {
  value     = aws_instance.web.public_ip
  sensitive = true
  depends_on = [aws_instance.web]
}
