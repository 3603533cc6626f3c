# A syntax error: the block below is never closed.
resource "terraform_data" "broken" {
  input = "x"
