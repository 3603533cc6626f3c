import OrderedCollections
import FurrowJSON

extension HCLBody {
    /// The body in the shape of terraform's JSON configuration syntax, so a script can
    /// read any HCL file as plain data: attributes become members, a non-literal
    /// expression becomes the string `"${<source text>}"` (as terraform's JSON syntax
    /// writes expressions), and a block nests under its type and then each label
    /// (`resource "aws_instance" "web" {}` → `{"resource": {"aws_instance": {"web": {}}}}`).
    /// Blocks repeated at the same place become an array of their bodies.
    public func jsonValue() throws(HCLError) -> JSONValue {
        var object: OrderedDictionary<String, JSONValue> = [:]
        var repeatable: Set<[String]> = []
        for (name, attribute) in attributes {
            switch attribute.expression {
            case .literal(let value): object[name] = value
            case .raw(let text): object[name] = .string("${\(text)}")
            }
        }
        for block in blocks {
            let path = [block.type] + block.labels
            let body = try block.body.jsonValue()
            let canRepeat = repeatable.contains(path)
            guard Self.insert(body, at: path[...], into: &object, appending: canRepeat) else {
                throw HCLError(at: block.range, "block \(path.map { "\"\($0)\"" }.joined(separator: " ")) collides with an attribute or another block of the same name")
            }
            repeatable.insert(path)
        }
        return .object(object)
    }

    /// Puts `value` at `path`, creating objects on the way; with `appending`, a value already
    /// at the end of the path (an earlier block) is turned into an array of both. Returns
    /// false when the path runs into something that is not such a block.
    private static func insert(_ value: JSONValue, at path: ArraySlice<String>,
                               into object: inout OrderedDictionary<String, JSONValue>, appending: Bool) -> Bool {
        guard let key = path.first else { return false }
        if path.count == 1 {
            switch object[key] {
            case nil: object[key] = value
            case .array(var earlier)? where appending: earlier.append(value); object[key] = .array(earlier)
            case let earlier? where appending: object[key] = .array([earlier, value])
            default: return false
            }
            return true
        }
        var inner: OrderedDictionary<String, JSONValue>
        switch object[key] {
        case nil: inner = [:]
        case .object(let existing)?: inner = existing
        default: return false
        }
        object[key] = .null // releases the nested dictionary so it is mutated in place, keeping the key's position
        let inserted = insert(value, at: path.dropFirst(), into: &inner, appending: appending)
        object[key] = .object(inner)
        return inserted
    }
}
