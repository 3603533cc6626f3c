import Testing
@testable import FurrowJSON

@Suite struct JSONTests {
    @Test func roundTripKeepsIntegersAndOrder() throws {
        let text = #"{"b":1,"a":[true,null,2.5,"x\ny"],"big":9007199254740993}"#
        let value = try JSONValue.parse(text)
        #expect(value["big"] == .int(9_007_199_254_740_993))
        #expect(value.objectValue?.keys.elements == ["b", "a", "big"])
        #expect(value.encoded() == text)
    }

    @Test func decodesEscapesAndSurrogates() throws {
        let value = try JSONValue.parse(#""\u00e9\ud83d\ude00\t\"""#)
        #expect(value == .string("é😀\t\""))
    }

    @Test func reportsPositionOfErrors() {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("{\n  \"a\": tru }") }
        do {
            _ = try JSONValue.parse("{\n  \"a\": tru }")
        } catch {
            #expect(error.line == 2)
        }
    }

    /// A byte that is not printable ASCII is named by its value: decoding it as Latin-1
    /// (0xC3 as "Ã") would show a character the input does not hold.
    @Test func namesUnprintableBytesByValue() {
        func message(_ bytes: [UInt8]) -> String? {
            do { _ = try JSONValue.parse(bytes: bytes) } catch { return error.message }
            return nil
        }
        #expect(message([0xC3]) == "unexpected byte 0xC3")
        #expect(message(Array("[1, é]".utf8)) == "unexpected byte 0xC3")
        #expect(message([0x5B, 0x01]) == "unexpected byte 0x01")
        #expect(message(Array("[1, x]".utf8)) == "unexpected character 'x'")
        #expect(message(Array(#""\q""#.utf8)) == #"invalid escape '\q'"#)
        #expect(message([0x22, 0x5C, 0xFF, 0x22]) == #"invalid escape: '\' followed by byte 0xFF"#)
    }

    @Test func refusesNumbersBeyondTheFloatRange() throws {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("6e308") }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("[-1e999]") }
        #expect(try JSONValue.parse("1.7976931348623157e308") == .double(.greatestFiniteMagnitude))
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(deep) }
    }

    @Test func prettyPrints() {
        let value: JSONValue = ["a": [1, 2], "b": [:]]
        #expect(value.prettyEncoded() == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}")
    }
}
