import FurrowJSON
import OrderedCollections

/// Conversion between Furrow's `JSONValue` and DynamoDB's typed attribute-value JSON (`{"S": "x"}`, `{"N": "3"}` ...).
///
/// Numbers travel as decimal strings: integers come back as exact `.int`, anything with a fraction or exponent as
/// `.double` (DynamoDB normalises numbers, so a stored `2.0` comes back as the integer `2`). Maps keep their order.
public enum DynamoDBAttributeValue {
    /// The typed form of one value. Non-finite doubles have no DynamoDB form and are refused.
    public static func encode(_ value: JSONValue) throws -> JSONValue {
        switch value {
        case .null: return ["NULL": true]
        case .bool(let b): return ["BOOL": .bool(b)]
        case .int(let i): return ["N": .string(String(i))]
        case .double(let d):
            guard d.isFinite else { throw invalid("DynamoDB numbers must be finite, got \(d)") }
            return ["N": .string(d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)")]
        case .string(let s): return ["S": .string(s)]
        case .array(let elements): return ["L": .array(try elements.map(encode))]
        case .object(let members): return ["M": .object(try encodeItem(members))]
        }
    }

    /// The typed form of every member of an item (or key).
    public static func encodeItem(_ item: OrderedDictionary<String, JSONValue>) throws -> OrderedDictionary<
        String, JSONValue
    > {
        var out = OrderedDictionary<String, JSONValue>()
        for (name, value) in item { out[name] = try encode(value) }
        return out
    }

    /// The plain value of one typed value. Sets come back as arrays, binary as its base64 text.
    public static func decode(_ typed: JSONValue) throws -> JSONValue {
        guard case .object(let members) = typed, members.count == 1, let (type, payload) = members.elements.first else {
            throw invalid("not a DynamoDB attribute value: \(typed.encoded())")
        }
        switch (type, payload) {
        case ("S", .string), ("B", .string): return payload
        case ("N", .string(let text)): return try number(text)
        case ("BOOL", .bool): return payload
        case ("NULL", _): return .null
        case ("L", .array(let elements)): return .array(try elements.map(decode))
        case ("M", .object(let map)): return .object(try decodeItem(map))
        case ("SS", .array), ("BS", .array): return payload
        case ("NS", .array(let elements)):
            return .array(
                try elements.map { element in
                    guard let text = element.stringValue else { throw invalid("NS member is not a string") }
                    return try number(text)
                })
        default: throw invalid("unsupported DynamoDB attribute value: \(typed.encoded())")
        }
    }

    /// The plain form of a typed item.
    public static func decodeItem(_ typed: OrderedDictionary<String, JSONValue>) throws -> OrderedDictionary<
        String, JSONValue
    > {
        var out = OrderedDictionary<String, JSONValue>()
        for (name, value) in typed { out[name] = try decode(value) }
        return out
    }

    static func number(_ text: String) throws -> JSONValue {
        if let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw invalid("DynamoDB number is not a number: \(text)") }
        return .double(d)
    }

    static func invalid(_ message: String) -> AWSError {
        AWSError(kind: .validation, service: "dynamodb", operation: "attribute value", message: message)
    }
}
