/// A parsed XML element: enough of XML 1.0 for AWS REST/XML responses (elements, attributes, text, entity and
/// character references, CDATA, comments, processing instructions). No DTDs.
struct XMLNode: Sendable {
    var name: String
    var attributes: [String: String] = [:]
    var children: [XMLNode] = []
    var text = ""

    struct SyntaxError: Error, CustomStringConvertible {
        let message: String
        let offset: Int
        var description: String { "malformed XML at byte \(offset): \(message)" }
    }

    /// The first child named `name`.
    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// The text of the child named `name`, or nil when absent.
    func childText(_ name: String) -> String? { child(name)?.text }

    /// Follows a path of child names, e.g. `["ChangeInfo", "Id"]`.
    func at(_ path: String...) -> XMLNode? {
        var node: XMLNode? = self
        for name in path { node = node?.child(name) }
        return node
    }

    /// The first descendant (or self) named `name`, depth first.
    func first(_ name: String) -> XMLNode? {
        if self.name == name { return self }
        for child in children { if let found = child.first(name) { return found } }
        return nil
    }

    /// Every descendant (or self) named `name`, in document order.
    func all(_ name: String) -> [XMLNode] {
        var found: [XMLNode] = self.name == name ? [self] : []
        for child in children { found += child.all(name) }
        return found
    }

    static func parse(_ bytes: [UInt8]) throws -> XMLNode {
        var reader = XMLReader(bytes: bytes)
        return try reader.document()
    }

    /// Escapes text for element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

private struct XMLReader {
    let bytes: [UInt8]
    var position = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ message: String) -> XMLNode.SyntaxError { XMLNode.SyntaxError(message: message, offset: position) }

    func peek(_ literal: String) -> Bool {
        let utf8 = Array(literal.utf8)
        return position + utf8.count <= bytes.count && Array(bytes[position..<position + utf8.count]) == utf8
    }

    mutating func skip(past literal: String) throws {
        let utf8 = Array(literal.utf8)
        while position + utf8.count <= bytes.count {
            if Array(bytes[position..<position + utf8.count]) == utf8 {
                position += utf8.count
                return
            }
            position += 1
        }
        throw fail("missing \(literal)")
    }

    mutating func skipMisc() throws {
        while true {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
            if peek("<?") {
                try skip(past: "?>")
            } else if peek("<!--") {
                try skip(past: "-->")
            } else if peek("<!DOCTYPE") {
                throw fail("DTDs are not accepted")
            } else {
                return
            }
        }
    }

    mutating func document() throws -> XMLNode {
        try skipMisc()
        guard peek("<") else { throw fail("expected an element") }
        let root = try element()
        try skipMisc()
        guard position == bytes.count else { throw fail("text after the root element") }
        return root
    }

    mutating func name() throws -> String {
        let start = position
        while position < bytes.count {
            let b = bytes[position]
            if [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "/"), UInt8(ascii: ">"), UInt8(ascii: "="), UInt8(ascii: "<")]
                .contains(b)
            {
                break
            }
            position += 1
        }
        guard position > start else { throw fail("expected a name") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func element() throws -> XMLNode {
        depth += 1
        defer { depth -= 1 }
        guard depth < 256 else { throw fail("nested too deeply") }
        position += 1  // <
        var node = XMLNode(name: try name())
        while true {
            skipSpace()
            guard position < bytes.count else { throw fail("unterminated start tag") }
            if peek("/>") {
                position += 2
                return node
            }
            if bytes[position] == UInt8(ascii: ">") {
                position += 1
                break
            }
            let attribute = try name()
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else { throw fail("expected '='") }
            position += 1
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'")
            else { throw fail("expected a quoted attribute value") }
            let quote = bytes[position]
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != quote { position += 1 }
            guard position < bytes.count else { throw fail("unterminated attribute value") }
            node.attributes[attribute] = try decodeEntities(bytes[start..<position])
            position += 1
        }
        var text: [UInt8] = []
        while true {
            guard position < bytes.count else { throw fail("unterminated element <\(node.name)>") }
            if peek("</") {
                position += 2
                let closing = try name()
                guard closing == node.name else { throw fail("</\(closing)> closes <\(node.name)>") }
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else { throw fail("expected '>'") }
                position += 1
                node.text = String(decoding: text, as: UTF8.self)
                if !node.children.isEmpty { node.text = node.text.trimmingSpaces() }
                return node
            } else if peek("<!--") {
                try skip(past: "-->")
            } else if peek("<![CDATA[") {
                position += 9
                let start = position
                try skip(past: "]]>")
                text += bytes[start..<position - 3]
            } else if peek("<?") {
                try skip(past: "?>")
            } else if bytes[position] == UInt8(ascii: "<") {
                node.children.append(try element())
            } else {
                let start = position
                while position < bytes.count, bytes[position] != UInt8(ascii: "<") { position += 1 }
                text += Array(try decodeEntities(bytes[start..<position]).utf8)
            }
        }
    }

    func decodeEntities(_ slice: ArraySlice<UInt8>) throws -> String {
        guard slice.contains(UInt8(ascii: "&")) else { return String(decoding: slice, as: UTF8.self) }
        var out = ""
        var index = slice.startIndex
        while index < slice.endIndex {
            guard slice[index] == UInt8(ascii: "&") else {
                let start = index
                while index < slice.endIndex, slice[index] != UInt8(ascii: "&") { index += 1 }
                out += String(decoding: slice[start..<index], as: UTF8.self)
                continue
            }
            guard let semicolon = slice[index...].firstIndex(of: UInt8(ascii: ";")) else {
                throw fail("unterminated entity")
            }
            let entity = String(decoding: slice[(index + 1)..<semicolon], as: UTF8.self)
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let code: UInt32?
                if entity.hasPrefix("#x") {
                    code = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    code = UInt32(entity.dropFirst())
                } else {
                    code = nil
                }
                guard let code, let scalar = Unicode.Scalar(code) else { throw fail("unknown entity &\(entity);") }
                out.unicodeScalars.append(scalar)
            }
            index = semicolon + 1
        }
        return out
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let c = scalars.first, c.isWhitespace { scalars.removeFirst() }
        while let c = scalars.last, c.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
