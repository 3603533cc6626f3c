import OrderedCollections
import FurrowJSON
import Testing
@testable import FurrowHCL

/// terraform.tfvars of the example environments (dev, qa, prod) that compose the stacks
/// kafka, cassandra, zookeeper and school.
private let environmentTFVars: [String: String] = [
    "dev": """
        # el-b2c-environment-dev: shared by every stack of the environment
        environment   = "dev"
        region        = "eu-central-1"
        vpc_cidr      = "10.10.0.0/16"
        azs           = ["eu-central-1a", "eu-central-1b"]

        kafka_brokers          = 1
        kafka_instance_type    = "t3.medium"
        kafka_retention_hours  = 24
        zookeeper_nodes        = 1
        cassandra_nodes        = 1
        cassandra_heap_gb      = 1.5
        school_replicas        = 1
        school_image           = "registry.example.com/school:sha-1a2b3c"
        school_public          = false

        tags = {
          team        = "b2c"
          environment = "dev"
          "cost-centre" = "1234"
        }
        """,
    "qa": """
        environment = "qa"
        region      = "eu-west-1"
        vpc_cidr    = "10.20.0.0/16"
        azs         = [
          "eu-west-1a",
          "eu-west-1b",
          "eu-west-1c",
        ]
        kafka_brokers         = 3
        kafka_instance_type   = "m5.large"
        kafka_retention_hours = 72
        zookeeper_nodes       = 3
        cassandra_nodes       = 3
        cassandra_heap_gb     = 4
        school_replicas       = 2
        school_image          = "registry.example.com/school:master"
        school_public         = true
        alert_emails          = []
        tags                  = { team = "b2c", environment = "qa" }
        """,
    "prod": """
        environment = "prod"
        region      = "eu-west-1"
        vpc_cidr    = "10.30.0.0/16"
        azs         = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]

        kafka_brokers         = 6
        kafka_instance_type   = "m5.2xlarge"
        kafka_retention_hours = 168
        kafka_topics = {
          orders   = { partitions = 24, replication = 3 }
          payments = { partitions = 12, replication = 3 }
        }
        zookeeper_nodes   = 5
        cassandra_nodes   = 6
        cassandra_heap_gb = 16
        school_replicas   = 6
        school_image      = "registry.example.com/school:v2.14.0"
        school_public     = true
        alert_emails      = ["oncall@example.com"]
        maintenance_window = <<-EOT
            Sun 02:00-04:00 UTC
            EOT
        tags = {
          team        = "b2c"
          environment = "prod"
        }
        """,
]

@Suite struct TFVarsTests {
    @Test func decodesEachExampleEnvironment() throws {
        let dev = try TerraformHCL.decodeTFVars(try #require(environmentTFVars["dev"]), filename: "dev/.variables/terraform.tfvars")
        #expect(dev["environment"] == "dev")
        #expect(dev["azs"] == ["eu-central-1a", "eu-central-1b"])
        #expect(dev["cassandra_heap_gb"] == .double(1.5))
        #expect(dev["school_public"] == false)
        #expect(dev["tags"] == ["team": "b2c", "environment": "dev", "cost-centre": "1234"])
        #expect(dev.keys.first == "environment")
        #expect(dev.count == 14)

        let qa = try TerraformHCL.decodeTFVars(try #require(environmentTFVars["qa"]))
        #expect(qa["azs"]?.arrayValue?.count == 3)
        #expect(qa["alert_emails"] == [])
        #expect(qa["kafka_brokers"] == 3)

        let prod = try TerraformHCL.decodeTFVars(try #require(environmentTFVars["prod"]))
        #expect(prod["kafka_topics"]?["orders"]?["partitions"] == 24)
        #expect(prod["maintenance_window"] == "Sun 02:00-04:00 UTC\n")
        #expect(prod["school_image"] == "registry.example.com/school:v2.14.0")
    }

    @Test func aTemplateValueStaysLiteralText() throws {
        let vars = try TerraformHCL.decodeTFVars(#"name = "${var.x}-a""#)
        #expect(vars["name"] == "${var.x}-a")
    }

    @Test func aReferenceIsRefusedByName() throws {
        do {
            _ = try TerraformHCL.decodeTFVars("ok = 1\nregion = var.region\n", filename: "prod.tfvars")
            Issue.record("a reference must not decode")
        } catch {
            #expect(error.filename == "prod.tfvars")
            #expect(error.line == 2 && error.column == 1)
            #expect(error.message.contains("variable \"region\" must be set to a literal value"))
        }
    }

    @Test func aBlockIsRefused() {
        #expect(throws: HCLError.self) { try TerraformHCL.decodeTFVars("a = 1\nb {}\n") }
    }

    @Test func syntaxErrorsCarryTheFileName() {
        do {
            _ = try TerraformHCL.decodeTFVars("a = [\n", filename: "qa/.variables/terraform.tfvars")
            Issue.record("must fail")
        } catch {
            #expect(error.description.hasPrefix("qa/.variables/terraform.tfvars:1:5:"))
        }
    }
}

@Suite struct BackendTests {
    @Test func s3Backend() throws {
        let body = try HCLFile.parse("""
            terraform {
              backend "s3" {
                bucket         = "el-b2c-terraform-state"
                key            = "prod/kafka/terraform.tfstate"
                region         = "eu-west-1"
                encrypt        = true
                use_lockfile   = true
                use_path_style = true
                endpoints      = { s3 = "http://127.0.0.1:5599" }
                skip_credentials_validation = true
              }
            }
            """, filename: ".variables/backend-kafka.tf")
        let backend = try #require(try TerraformHCL.backend(in: body))
        #expect(backend.type == "s3")
        #expect(backend.settings["bucket"] == "el-b2c-terraform-state")
        #expect(backend.settings["key"] == "prod/kafka/terraform.tfstate")
        #expect(backend.settings["encrypt"] == true)
        #expect(backend.settings["endpoints"] == ["s3": "http://127.0.0.1:5599"])
        #expect(backend.settings.keys.first == "bucket")
        #expect(backend.range.start.line == 2)
    }

    @Test func localBackendOnOneLine() throws {
        let body = try HCLFile.parse(#"terraform { backend "local" { path = "state/zookeeper.tfstate" } }"#)
        let backend = try #require(try TerraformHCL.backend(in: body))
        #expect(backend.type == "local")
        #expect(backend.settings == ["path": "state/zookeeper.tfstate"])
    }

    @Test func nestedBlocksBecomeObjects() throws {
        let body = try HCLFile.parse("""
            terraform {
              required_version = ">= 1.5"
              backend "s3" {
                bucket = "b"
                assume_role {
                  role_arn = "arn:aws:iam::123456789012:role/terraform"
                }
              }
            }
            """)
        let backend = try #require(try TerraformHCL.backend(in: body))
        #expect(backend.settings["assume_role"] == ["role_arn": "arn:aws:iam::123456789012:role/terraform"])
    }

    @Test func noBackendIsNil() throws {
        #expect(try TerraformHCL.backend(in: HCLFile.parse("terraform {\n  required_version = \">= 1.5\"\n}\n")) == nil)
        #expect(try TerraformHCL.backend(in: HCLFile.parse("")) == nil)
    }

    @Test func twoBackendsOrAReferenceAreErrors() throws {
        let twice = try HCLFile.parse("terraform { backend \"s3\" {} }\nterraform { backend \"local\" {} }\n")
        #expect(throws: HCLError.self) { try TerraformHCL.backend(in: twice) }
        let reference = try HCLFile.parse("terraform {\n  backend \"s3\" {\n    bucket = var.bucket\n  }\n}\n", filename: "backend.tf")
        do {
            _ = try TerraformHCL.backend(in: reference)
            Issue.record("must fail")
        } catch {
            #expect(error.line == 3 && error.column == 5)
            #expect(error.message.contains("\"bucket\" must be a literal value"))
        }
    }
}

@Suite struct VariablesAndOutputsTests {
    private let variablesTF = """
        variable "environment" {
          type        = string
          description = "Name of the environment (dev, qa, prod)"
        }

        variable "azs" {
          type    = list(string)
          default = []
        }

        variable "kafka_topics" {
          type = map(object({
            partitions  = number
            replication = optional(number, 3)
          }))
          default = {
            events = { partitions = 3, replication = 1 }
          }
          description = <<-EOT
            Topics to create, by name.
            EOT
        }

        variable "db_password" {
          type      = string
          sensitive = true
          nullable  = false
        }

        variable "legacy" {
          type    = "string"
          default = null
        }

        variable "kafka_brokers" {
          type    = number
          default = 3
          validation {
            condition     = var.kafka_brokers >= 1 && var.kafka_brokers <= 9
            error_message = "Between 1 and 9 brokers, got ${var.kafka_brokers}."
          }
        }

        variable "untyped" {}
        """

    @Test func everyAttributeOfAVariable() throws {
        let variables = try TerraformHCL.variables(in: HCLFile.parse(variablesTF, filename: "kafka/variables.tf"))
        #expect(variables.map(\.name) == ["environment", "azs", "kafka_topics", "db_password", "legacy", "kafka_brokers", "untyped"])

        let environment = variables[0]
        #expect(environment.type == "string")
        #expect(environment.isRequired)
        #expect(environment.description == "Name of the environment (dev, qa, prod)")
        #expect(!environment.sensitive && environment.nullable)

        #expect(variables[1].type == "list(string)")
        #expect(variables[1].defaultValue == [])
        #expect(!variables[1].isRequired)

        let topics = variables[2]
        #expect(topics.type == "map(object({\n    partitions  = number\n    replication = optional(number, 3)\n  }))")
        #expect(topics.defaultValue == ["events": ["partitions": 3, "replication": 1]])
        #expect(topics.description == "Topics to create, by name.\n")

        #expect(variables[3].sensitive)
        #expect(!variables[3].nullable)
        #expect(variables[3].isRequired)

        #expect(variables[4].type == "string")
        #expect(variables[4].defaultValue == .null)
        #expect(!variables[4].isRequired)

        let brokers = variables[5]
        #expect(brokers.validations == [TerraformValidation(
            condition: "var.kafka_brokers >= 1 && var.kafka_brokers <= 9",
            errorMessage: "Between 1 and 9 brokers, got ${var.kafka_brokers}.")])

        #expect(variables[6].type == nil && variables[6].isRequired)
        #expect(variables[6].range.start.line == 44)
    }

    @Test func variableErrors() throws {
        #expect(throws: HCLError.self) { try TerraformHCL.variables(in: HCLFile.parse("variable \"a\" {}\nvariable \"a\" {}\n")) }
        #expect(throws: HCLError.self) { try TerraformHCL.variables(in: HCLFile.parse("variable {}\n")) }
        #expect(throws: HCLError.self) { try TerraformHCL.variables(in: HCLFile.parse("variable \"a\" { sensitive = \"yes\" }\n")) }
        #expect(throws: HCLError.self) { try TerraformHCL.variables(in: HCLFile.parse("variable \"a\" { default = local.x }\n")) }
        #expect(throws: HCLError.self) { try TerraformHCL.variables(in: HCLFile.parse("variable \"a\" { description = 3 }\n")) }
    }

    @Test func outputs() throws {
        let body = try HCLFile.parse("""
            output "bootstrap_servers" {
              value       = join(",", aws_instance.kafka[*].private_ip)
              description = "Kafka bootstrap servers"
            }

            output "admin_password" {
              value     = random_password.admin.result
              sensitive = true
              depends_on = [aws_instance.kafka]
            }

            output "port" { value = 9092 }
            """, filename: "kafka/outputs.tf")
        let outputs = try TerraformHCL.outputs(in: body)
        #expect(outputs.map(\.name) == ["bootstrap_servers", "admin_password", "port"])
        #expect(outputs[0].value == .raw("join(\",\", aws_instance.kafka[*].private_ip)"))
        #expect(outputs[0].description == "Kafka bootstrap servers")
        #expect(outputs[1].sensitive)
        #expect(outputs[1].dependsOn == "[aws_instance.kafka]")
        #expect(outputs[2].value == .literal(9092))
        #expect(throws: HCLError.self) { try TerraformHCL.outputs(in: HCLFile.parse("output \"x\" {}\n")) }
    }
}
