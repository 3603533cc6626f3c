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
