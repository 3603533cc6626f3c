import OrderedCollections
import FurrowJSON

/// A place in an HCL source file. Lines and columns start at 1; columns count characters.
public struct HCLPosition: Hashable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    /// Byte offset into the UTF-8 source (after a byte-order mark, if the file starts with one).
    public let offset: Int

    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String { "\(line):\(column)" }
}

/// The span of a construct in a named source file, so callers can point errors at it.
public struct HCLRange: Hashable, Sendable, CustomStringConvertible {
    public let filename: String
    public let start: HCLPosition
    public let end: HCLPosition

    public init(filename: String, start: HCLPosition, end: HCLPosition) {
        self.filename = filename
        self.start = start
        self.end = end
    }

    public var description: String { "\(filename):\(start)" }
}

/// A decoding failure with the file, line and column it happened at.
public struct HCLError: Error, Hashable, Sendable, CustomStringConvertible {
    public let filename: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(filename: String, line: Int, column: Int, message: String) {
        self.filename = filename
        self.line = line
        self.column = column
        self.message = message
    }

    /// An error located at the start of `range`.
    public init(at range: HCLRange, _ message: String) {
        self.init(filename: range.filename, line: range.start.line, column: range.start.column, message: message)
    }

    public var description: String { "\(filename):\(line):\(column): \(message)" }
}

/// The value of an attribute: decoded when it is a literal, otherwise its exact source text.
///
/// Furrow only needs the values of tfvars and backend settings, which terraform requires to be
/// literal; everything else (references, calls, type constraints, operators) is kept as text
/// so it can be shown, compared or handed back to terraform unchanged.
public enum HCLExpression: Hashable, Sendable {
    /// A literal: string (templates keep `${...}` and `%{...}` as text), number, bool, null,
    /// or a tuple/object whose elements are all literal.
    case literal(JSONValue)
    /// Any other expression, as its source text (comments inside it included).
    case raw(String)

    /// The decoded value, or nil for a non-literal expression.
    public var literalValue: JSONValue? {
        if case .literal(let value) = self { return value }
        return nil
    }
}

/// `name = expression` in a body.
public struct HCLAttribute: Hashable, Sendable {
    public let name: String
    public let expression: HCLExpression
    /// From the first character of the name to the last character of the expression.
    public let range: HCLRange
}

/// `type "label" label2 { body }`.
public struct HCLBlock: Hashable, Sendable {
    public let type: String
    public let labels: [String]
    public let body: HCLBody
    /// From the block type to its closing brace.
    public let range: HCLRange
}

/// The contents of a file or of a block: attributes (unique names, in source order) and blocks.
public struct HCLBody: Hashable, Sendable {
    public var attributes: OrderedDictionary<String, HCLAttribute>
    public var blocks: [HCLBlock]

    public init(attributes: OrderedDictionary<String, HCLAttribute>, blocks: [HCLBlock]) {
        self.attributes = attributes
        self.blocks = blocks
    }

    /// An empty body.
    public init() {
        self.init(attributes: [:], blocks: [])
    }

    /// The blocks of one type, in source order.
    public func blocks(ofType type: String) -> [HCLBlock] {
        blocks.filter { $0.type == type }
    }
}

/// Entry point for decoding HCL native syntax (the `.tf` / `.tfvars` format).
///
/// Supported: attributes and blocks (labels quoted or bare, one-line blocks), `#`, `//` and
/// `/* */` comments, and every expression form of the native syntax. Literal expressions are
/// decoded to `JSONValue`; others are kept as `HCLExpression.raw`. Nesting deeper than
/// `maximumNesting` is refused so hostile input cannot exhaust the stack.
public enum HCLFile {
    /// How deeply blocks, brackets, interpolations and unary operators may nest.
    public static let maximumNesting = 256

    /// Parses a whole file. `filename` only labels errors and ranges.
    public static func parse(_ text: String, filename: String = "<input>") throws(HCLError) -> HCLBody {
        var parser = HCLParser(text: text, filename: filename)
        return try parser.parseFile()
    }

    /// Parses the raw bytes of a file, refusing invalid UTF-8 with the position of the first bad byte.
    public static func parse(bytes: [UInt8], filename: String) throws(HCLError) -> HCLBody {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        var offset = 0
        var line = 1
        var column = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += Unicode.UTF8.width(scalar)
                if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput:
                return try parse(String(decoding: bytes, as: UTF8.self), filename: filename)
            case .error:
                throw HCLError(filename: filename, line: line, column: column,
                               message: "invalid UTF-8 at byte offset \(offset)")
            }
        }
    }
}
