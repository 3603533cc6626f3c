import OrderedCollections
import FurrowJSON
import Testing
import FurrowTestSupport
@testable import FurrowHCL

/// Parses `text` and returns the expression of attribute `name`.
private func expression(_ text: String, _ name: String = "x") throws -> HCLExpression {
    let body = try HCLFile.parse(text, filename: "test.tf")
    return try #require(body.attributes[name]).expression
}

private func literal(_ text: String, _ name: String = "x") throws -> JSONValue? {
    try expression(text, name).literalValue
}

/// The error `text` fails with, or nil when it parses.
private func parseError(_ text: String) -> HCLError? {
    do {
        _ = try HCLFile.parse(text, filename: "bad.tf")
        return nil
    } catch {
        return error
    }
}

@Suite struct HCLBodyTests {
    @Test func attributesAndBlocksKeepSourceOrder() throws {
        let body = try HCLFile.parse("""
            b = 1
            a = 2
            resource "aws_instance" web {
              ami = "ami-1"
              nested {
                deep = true
              }
            }
            locals {}
            """, filename: "main.tf")
        #expect(Array(body.attributes.keys) == ["b", "a"])
        #expect(body.blocks.map(\.type) == ["resource", "locals"])
        let resource = body.blocks[0]
        #expect(resource.labels == ["aws_instance", "web"])
        #expect(resource.body.attributes["ami"]?.expression == .literal("ami-1"))
        #expect(resource.body.blocks(ofType: "nested").first?.body.attributes["deep"]?.expression == .literal(true))
        #expect(body.blocks[1].body == HCLBody())
    }

    @Test func rangesPointAtTheSource() throws {
        let body = try HCLFile.parse("\n  name = \"x\"\nblock {\n}\n", filename: "r.tf")
        let attribute = try #require(body.attributes["name"])
        #expect(attribute.range.filename == "r.tf")
        #expect(attribute.range.start == HCLPosition(line: 2, column: 3, offset: 3))
        #expect(attribute.range.end.column == 13)
        #expect(body.blocks[0].range.start.line == 3)
        #expect(body.blocks[0].range.end.line == 4)
    }

    @Test func oneLineBlocks() throws {
        let body = try HCLFile.parse("""
            a { b = 1 }
            c "d" {}
            e { f = [1, 2] }
            """)
        #expect(body.blocks.count == 3)
        #expect(body.blocks[0].body.attributes["b"]?.expression == .literal(1))
        #expect(body.blocks[1].labels == ["d"])
        #expect(body.blocks[2].body.attributes["f"]?.expression == .literal([1, 2]))
    }

    @Test func commentsOfAllThreeKinds() throws {
        let body = try HCLFile.parse("""
            # hash comment
            a = 1 # trailing
            // slash comment
            b = 2 // trailing
            /* block
               comment */ c = /* inline */ 3
            d = [1, /* two */ 2, # three
              3]
            """)
        #expect(body.attributes.mapValues(\.expression.literalValue) == ["a": 1, "b": 2, "c": 3, "d": [1, 2, 3]])
    }

    @Test func crlfLineEndingsAndByteOrderMark() throws {
        let body = try HCLFile.parse("\u{FEFF}a = 1\r\nb = \"x\"\r\nc {\r\n  d = true\r\n}\r\n")
        #expect(body.attributes["a"]?.expression == .literal(1))
        #expect(body.attributes["b"]?.expression == .literal("x"))
        #expect(body.blocks[0].body.attributes["d"]?.expression == .literal(true))
    }

    @Test func identifiersMayContainDashes() throws {
        #expect(try literal("tyk-analytics = \"master\"", "tyk-analytics") == "master")
    }

    @Test func emptyFileIsAnEmptyBody() throws {
        #expect(try HCLFile.parse("") == HCLBody())
        #expect(try HCLFile.parse("\n# only a comment\n") == HCLBody())
    }
}

@Suite struct HCLLiteralTests {
    @Test func stringEscapes() throws {
        #expect(try literal(#"x = "a\nb\tc\"d\\e\rf""#) == "a\nb\tc\"d\\e\rf")
        #expect(try literal(#"x = "\u00e9\U0001F600""#) == "é😀")
        #expect(try literal(#"x = "naïve ✓""#) == "naïve ✓")
        #expect(try literal(#"x = """#) == "")
    }

    @Test func templatesStayText() throws {
        #expect(try literal(#"x = "${var.x}-a""#) == "${var.x}-a")
        #expect(try literal(#"x = "a-${ upper("b}") }-c""#) == #"a-${ upper("b}") }-c"#)
        #expect(try literal(#"x = "%{ if var.on }on%{ else }off%{ endif }""#) == "%{ if var.on }on%{ else }off%{ endif }")
        #expect(try literal(#"x = "%{ for k, v in m }${k}=${v} %{ endfor ~}""#) == "%{ for k, v in m }${k}=${v} %{ endfor ~}")
        #expect(try literal(#"x = "${"nested ${"deep"}"}""#) == #"${"nested ${"deep"}"}"#)
    }

    @Test func templateEscapes() throws {
        #expect(try literal(#"x = "$${literal} and %%{also}""#) == "${literal} and %{also}")
        #expect(try literal(#"x = "cost: $5, 100% sure""#) == "cost: $5, 100% sure")
    }

    @Test func numbers() throws {
        #expect(try literal("x = 42") == .int(42))
        #expect(try literal("x = -7") == .int(-7))
        #expect(try literal("x = 0") == .int(0))
        #expect(try literal("x = 9223372036854775807") == .int(.max))
        #expect(try literal("x = -9223372036854775808") == .int(.min))
        #expect(try literal("x = 3.25") == .double(3.25))
        #expect(try literal("x = -0.5") == .double(-0.5))
        #expect(try literal("x = 1e3") == .double(1000))
        #expect(try literal("x = 2.5E-2") == .double(0.025))
        #expect(try literal("x = 1e+2") == .double(100))
        #expect(try literal("x = - 3") == .int(-3))
    }

    @Test func boolsAndNull() throws {
        #expect(try literal("x = true") == true)
        #expect(try literal("x = false") == false)
        #expect(try literal("x = null") == .null)
    }

    @Test func tuples() throws {
        #expect(try literal("x = []") == [])
        #expect(try literal(#"x = [1, "two", true, null]"#) == [1, "two", true, nil])
        #expect(try literal("x = [1, 2,]") == [1, 2])
        #expect(try literal("""
            x = [
              "a",   # first
              "b",

              ["c", []],
            ]
            """) == ["a", "b", ["c", []]])
    }

    @Test func objects() throws {
        let value = try literal(#"x = { a = 1, "b" = 2, c: 3 }"#)
        #expect(value == ["a": 1, "b": 2, "c": 3])
        #expect(value?.objectValue?.keys.elements == ["a", "b", "c"])
        #expect(try literal("""
            x = {
              name = "feat-x"
              "tyk-analytics" = "master"
              tags = { team = "b2c", cost: 12 }

              list = [1,
                2]
            }
            """) == ["name": "feat-x", "tyk-analytics": "master", "tags": ["team": "b2c", "cost": 12], "list": [1, 2]])
        #expect(try literal("x = {}") == [:])
        #expect(try literal("x = { 1 = \"one\", true = \"yes\" }") == ["1": "one", "true": "yes"])
        #expect(try literal("x = { (\"a\") = 1 }") == ["a": 1])
    }

    @Test func heredocs() throws {
        #expect(try literal("x = <<EOF\nline one\n  line two\nEOF\n") == "line one\n  line two\n")
        #expect(try literal("x = <<EOF\nEOF\n") == "")
        #expect(try literal("x = <<EOT\n\\n stays ${var.x} $${y}\nEOT") == "\\n stays ${var.x} ${y}\n")
        #expect(try literal("""
            x = <<-EOF
                indented
                  more
                back
                EOF
            y = 1
            """) == "indented\n  more\nback\n")
        #expect(try literal("x = <<-EOF\n    a\n\n      b\n  EOF\n") == "a\n\n  b\n")
        #expect(try literal("x = <<-EOT\n    Foo\n  Bar\n    Baz\n  EOT\n") == "  Foo\nBar\n  Baz\n")
        #expect(try literal("x = <<-EOT\n\tFoo\n  Bar\n  Baz\n  EOT\n") == "Foo\n Bar\n Baz\n") // a tab is one column
        #expect(try literal("x = <<EOT\n    NOT EOT\n  EOT\n") == "    NOT EOT\n")
        #expect(try literal("x = <<-EOT\n    Foo\n  ${bar}\n    Baz\n  EOT\n") == "  Foo\n${bar}\n  Baz\n")
        let body = try HCLFile.parse("a = <<EOF\nx\nEOF\nb = 2\n")
        #expect(body.attributes["b"]?.expression == .literal(2))
    }

    @Test func heredocInsideCollections() throws {
        #expect(try literal("x = [<<EOF\nabc\nEOF\n, \"d\"]") == ["abc\n", "d"])
    }

    @Test func parenthesesKeepALiteralLiteral() throws {
        #expect(try literal("x = (1)") == 1)
        #expect(try literal("x = (\n  \"a\"\n)") == "a")
    }
}

@Suite struct HCLRawExpressionTests {
    @Test func referencesAndCallsKeepTheirText() throws {
        #expect(try expression("x = var.region") == .raw("var.region"))
        #expect(try expression("x = aws_instance.web[0].id") == .raw("aws_instance.web[0].id"))
        #expect(try expression("x = aws_instance.web[*].id") == .raw("aws_instance.web[*].id"))
        #expect(try expression("x = aws_instance.web.*.id") == .raw("aws_instance.web.*.id"))
        #expect(try expression("x = list(string)") == .raw("list(string)"))
        #expect(try expression("x = join(\",\", var.list...)") == .raw("join(\",\", var.list...)"))
        #expect(try expression("x = provider::aws::arn_parse(var.arn)") == .raw("provider::aws::arn_parse(var.arn)"))
        #expect(try expression("x = string") == .raw("string"))
    }

    @Test func typeConstraintsSpanningLines() throws {
        let text = """
            map(object({
                a = string
                b = optional(list(number), [])
              }))
            """
        #expect(try expression("x = \(text)\ny = 1") == .raw(text))
        #expect(try expression("x = map(object({a = string}))") == .raw("map(object({a = string}))"))
    }

    @Test func operatorsAndConditionals() throws {
        #expect(try expression("x = 1 + 2 * 3") == .raw("1 + 2 * 3"))
        #expect(try expression("x = var.a == \"b\" ? 1 : 2") == .raw("var.a == \"b\" ? 1 : 2"))
        #expect(try expression("x = !var.off && var.on || false") == .raw("!var.off && var.on || false"))
        #expect(try expression("x = -var.n") == .raw("-var.n"))
        #expect(try expression("x = var.a >= 3") == .raw("var.a >= 3"))
        #expect(try expression("x = a % 2 != 0") == .raw("a % 2 != 0"))
    }

    @Test func forExpressions() throws {
        #expect(try expression("x = [for s in var.list : upper(s) if s != \"\"]")
                == .raw("[for s in var.list : upper(s) if s != \"\"]"))
        #expect(try expression("x = {for k, v in var.map : k => v...}") == .raw("{for k, v in var.map : k => v...}"))
        #expect(try expression("x = {\n  for k, v in var.map :\n    k => v\n}") == .raw("{\n  for k, v in var.map :\n    k => v\n}"))
    }

    @Test func aCollectionWithOneReferenceIsRaw() throws {
        #expect(try expression("x = [1, var.two]") == .raw("[1, var.two]"))
        #expect(try expression("x = { a = local.b }") == .raw("{ a = local.b }"))
        #expect(try expression("x = { (var.key) = 1 }") == .raw("{ (var.key) = 1 }"))
    }

    @Test func rawTextExcludesTrailingComment() throws {
        #expect(try expression("x = var.a # why\ny = 2") == .raw("var.a"))
    }
}

@Suite struct HCLErrorTests {
    private func expectError(_ text: String, line: Int, column: Int, containing fragment: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = parseError(text) else {
            Issue.record("expected an error for \(text.debugDescription)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.filename == "bad.tf", sourceLocation: sourceLocation)
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.column == column, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    }

    @Test func unterminatedString() {
        expectError("a = 1\nb = \"open\nc = 2\n", line: 2, column: 5, containing: "unterminated string")
        expectError("b = \"open", line: 1, column: 5, containing: "unterminated string")
    }

    @Test func heredocWithoutEndMarker() {
        expectError("a = 1\n  b = <<EOF\ntext\n", line: 2, column: 7, containing: "heredoc without end marker")
        expectError("b = <<EOF", line: 1, column: 10, containing: "followed by a newline")
    }

    @Test func unexpectedToken() {
        expectError("a = 1 2\n", line: 1, column: 7, containing: "unexpected \"2\"")
        expectError("a = \n", line: 1, column: 5, containing: "unexpected newline; expected an expression")
        expectError("= 1\n", line: 1, column: 1, containing: "unexpected \"=\"")
        expectError("a = [1 2]\n", line: 1, column: 8, containing: "expected a comma or ]")
        expectError("a = { b 1 }\n", line: 1, column: 9, containing: "expected = or :")
        expectError("a { b = 1 c = 2 }\n", line: 1, column: 11, containing: "expected a newline")
        expectError("a = var.x ? 1\n", line: 1, column: 14, containing: "expected :")
        expectError("block\n", line: 1, column: 6, containing: "expected a block label or {")
    }

    @Test func duplicateAttribute() {
        expectError("region = \"a\"\nname = 1\nregion = \"b\"\n", line: 3, column: 1, containing: "duplicate attribute \"region\" (first set at line 1)")
        expectError("a = { k = 1, k = 2 }", line: 1, column: 14, containing: "duplicate object key \"k\"")
    }

    @Test func unbalancedBrackets() {
        expectError("a = [1, 2\n", line: 1, column: 5, containing: "unbalanced brackets: this [ is never closed")
        expectError("a = [1, 2)\n", line: 1, column: 10, containing: "unbalanced brackets: found \")\" where ] should close the [ at line 1, column 5")
        expectError("b {\n  c = 1\n", line: 1, column: 3, containing: "this { is never closed")
        expectError("a = 1\n}\n", line: 2, column: 1, containing: "} without a matching {")
        expectError("a = f(1, [2)\n", line: 1, column: 12, containing: "unbalanced brackets")
        expectError("a = { b = 1\n", line: 1, column: 5, containing: "this { is never closed")
    }

    @Test func badEscapesAndNumbers() {
        expectError(#"a = "\q""#, line: 1, column: 6, containing: "invalid escape \\q")
        expectError(#"a = "\u12""#, line: 1, column: 6, containing: "4 hexadecimal digits")
        expectError(#"a = "\uD800""#, line: 1, column: 6, containing: "not a Unicode scalar")
        expectError("a = 99999999999999999999", line: 1, column: 5, containing: "integer literal does not fit in 64 bits")
    }

    @Test func unterminatedCommentsAndTemplates() {
        expectError("a = 1 /* open", line: 1, column: 7, containing: "unterminated comment")
        expectError("a = \"${ var.x \"", line: 1, column: 15, containing: "expected } to end the interpolation")
        expectError("a = \"%{ while x }\"", line: 1, column: 9, containing: "unknown template directive")
    }

    @Test func columnsCountCharactersNotBytes() {
        expectError("a = \"é\" 2", line: 1, column: 9, containing: "unexpected \"2\"")
    }

    @Test func errorDescriptionNamesFileLineAndColumn() throws {
        let error = try #require(parseError("a = 1\nb = ]"))
        #expect(error.description == "bad.tf:2:5: unexpected \"]\"; expected an expression")
    }
}

@Suite struct HCLHostileInputTests {
    @Test func deepNestingIsRefusedNotCrashed() {
        for opener in ["[", "{a=", "(", "-", "!", "f(", "\"${", "a[", "x ? ", "b {\n"] {
            let text = "x = " + String(repeating: opener, count: 100_000)
            let error = parseError(opener == "b {\n" ? String(repeating: opener, count: 100_000) : text)
            #expect(error?.message.contains("nesting too deep") == true, "\(opener): \(String(describing: error))")
        }
    }

    @Test func nestingWithinTheLimitWorks() throws {
        let depth = HCLFile.maximumNesting - 1
        let text = "x = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var expected: JSONValue = []
        for _ in 1..<depth { expected = [expected] }
        #expect(try literal(text) == expected)
    }

    @Test func randomMutationsNeverCrashOrHang() throws {
        let seed = """
            # environment variables
            region   = "eu-central-1"
            replicas = [1, 2.5, -3e2, true, null]
            tags     = { team = "b2c", "cost-centre": 12 }
            name     = "${var.env}-kafka %{ if x }y%{ endif } $${no}"
            script   = <<-EOT
                echo "\\n"
                EOT
            type     = map(object({ a = list(string), b = optional(number, 1) }))
            pick     = var.a ? [for s in var.l : upper(s) if s != ""] : {for k, v in m : k => v}
            /* block */ terraform {
              backend "s3" { bucket = "x" }
            }
            """
        var random = SplitMix(seed: 0x5EED)
        let alphabet = Array("{}[]()\"'$%~<-\n#/*\\=:,.?!&|0123456789eE aZ_\t\r\u{0}é".unicodeScalars)
        var outcomes = (parsed: 0, failed: 0)
        for _ in 0..<2_000 {
            var scalars = Array(seed.unicodeScalars)
            for _ in 0..<(1 + random.below(4)) {
                let at = random.below(scalars.count + 1)
                switch random.below(4) {
                case 0 where at < scalars.count:
                    scalars.removeSubrange(at..<min(scalars.count, at + 1 + random.below(8)))
                case 1:
                    scalars.insert(alphabet[random.below(alphabet.count)], at: at)
                case 2 where at < scalars.count:
                    scalars[at] = alphabet[random.below(alphabet.count)]
                default:
                    let from = random.below(scalars.count)
                    let slice = scalars[from..<min(scalars.count, from + random.below(20))]
                    scalars.insert(contentsOf: slice, at: at)
                }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            do {
                _ = try HCLFile.parse(text, filename: "fuzz.tf")
                outcomes.parsed += 1
            } catch {
                #expect(error.line >= 1 && error.column >= 1)
                outcomes.failed += 1
            }
        }
        #expect(outcomes.parsed + outcomes.failed == 2_000)
        #expect(outcomes.failed > 100)
    }
}

@Suite struct HCLEndOfFileTests {
    @Test func endOfFileInsideBracketsPointsAtTheOpener() {
        for (text, column) in [("a = [\n", 5), ("a = f(1,\n", 6), ("a = (\n", 5), ("a = [1,\n  2,\n", 5)] {
            let error = parseError(text)
            #expect(error?.line == 1 && error?.column == column, "\(text.debugDescription): \(String(describing: error))")
            #expect(error?.message.contains("is never closed") == true)
        }
    }
}

@Suite struct HCLJSONShapeTests {
    @Test func bodyAsTerraformJSON() throws {
        let body = try HCLFile.parse("""
            region = "eu-west-1"
            name   = "${var.env}-kafka"
            count  = length(var.azs)
            resource "aws_instance" "web" {
              ami = "ami-1"
            }
            resource "aws_instance" "db" {
              ami = "ami-2"
            }
            provisioner { order = 1 }
            provisioner { order = 2 }
            terraform {
              backend "local" { path = "x.tfstate" }
            }
            """)
        let value = try body.jsonValue()
        #expect(value == [
            "region": "eu-west-1",
            "name": "${var.env}-kafka",
            "count": "${length(var.azs)}",
            "resource": ["aws_instance": ["web": ["ami": "ami-1"], "db": ["ami": "ami-2"]]],
            "provisioner": [["order": 1], ["order": 2]],
            "terraform": ["backend": ["local": ["path": "x.tfstate"]]],
        ])
        #expect(value.objectValue?.keys.elements == ["region", "name", "count", "resource", "provisioner", "terraform"])
    }

    @Test func aBlockCollidingWithAnAttributeIsAnError() throws {
        let body = try HCLFile.parse("tags = {}\ntags {}\n")
        #expect(throws: HCLError.self) { try body.jsonValue() }
        let labeled = try HCLFile.parse("a \"x\" {}\na {}\n")
        #expect(throws: HCLError.self) { try labeled.jsonValue() }
    }
}

@Suite struct HCLBytesTests {
    @Test func invalidUTF8IsRefusedWithItsPosition() {
        let bytes = Array("a = 1\nb = \"x".utf8) + [0xFF] + Array("\"\n".utf8)
        do {
            _ = try HCLFile.parse(bytes: bytes, filename: "bin.tfvars")
            Issue.record("invalid UTF-8 must be refused")
        } catch {
            #expect(error.line == 2 && error.column == 7)
            #expect(error.message == "invalid UTF-8 at byte offset 12")
        }
    }

    @Test func validBytesParse() throws {
        let body = try HCLFile.parse(bytes: Array("name = \"é\"\n".utf8), filename: "ok.tfvars")
        #expect(body.attributes["name"]?.expression == .literal("é"))
    }
}
