/// One entry of the question section (the zone section in an UPDATE).
public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: DNSClass

    public init(name: DNSName, type: DNSRecordType, recordClass: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// One resource record as it appears in a message section.
public struct DNSResourceRecord: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: DNSClass
    public var ttl: UInt32
    public var data: DNSRData

    public init(name: DNSName, type: DNSRecordType, recordClass: DNSClass = .internet, ttl: UInt32, data: DNSRData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    /// Zone-file form: `name ttl class type data`.
    public var description: String { "\(name) \(ttl) \(recordClass) \(type) \(data.presentation)" }

    func encode(into writer: inout WireWriter) {
        writer.name(name)
        writer.u16(type.rawValue)
        writer.u16(recordClass.rawValue)
        writer.u32(ttl)
        let rdata = data.wireBytes
        writer.u16(UInt16(rdata.count))
        writer.append(rdata)
    }
}

/// A DNS message (RFC 1035 §4). TSIG is kept apart from the additional section: `tsig` holds
/// the decoded record of a received message and `tsigOffset` where it started, because the
/// MAC covers the message without it.
public struct DNSMessage: Sendable {
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: DNSOpcode
    public var isAuthoritative = false
    public var isTruncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    public var responseCode: DNSResponseCode = .noError
    public var questions: [DNSQuestion] = []
    /// The answer section; the prerequisite section of an UPDATE.
    public var answers: [DNSResourceRecord] = []
    /// The authority section; the update section of an UPDATE.
    public var authorities: [DNSResourceRecord] = []
    public var additionals: [DNSResourceRecord] = []
    /// The TSIG record of a decoded message, if it was signed.
    public internal(set) var tsig: TSIGRecord?
    /// Where the TSIG record started in the decoded bytes.
    var tsigOffset: Int?

    public init(id: UInt16 = UInt16.random(in: 0...UInt16.max), opcode: DNSOpcode = .query, isResponse: Bool = false) {
        self.id = id
        self.opcode = opcode
        self.isResponse = isResponse
    }

    /// A query for one name and type.
    public static func query(_ name: DNSName, _ type: DNSRecordType, recursionDesired: Bool = false) -> DNSMessage {
        var message = DNSMessage()
        message.questions = [DNSQuestion(name: name, type: type)]
        message.recursionDesired = recursionDesired
        return message
    }

    /// The message in wire form, without any TSIG record (signing appends it).
    public func encoded() throws(DNSWireError) -> [UInt8] {
        var writer = WireWriter()
        writer.u16(id)
        var flags: UInt16 = 0
        if isResponse { flags |= 0x8000 }
        flags |= UInt16(opcode.rawValue & 0x0F) << 11
        if isAuthoritative { flags |= 0x0400 }
        if isTruncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        flags |= responseCode.rawValue & 0x0F
        writer.u16(flags)
        writer.u16(UInt16(questions.count))
        writer.u16(UInt16(answers.count))
        writer.u16(UInt16(authorities.count))
        writer.u16(UInt16(additionals.count))
        for question in questions {
            writer.name(question.name)
            writer.u16(question.type.rawValue)
            writer.u16(question.recordClass.rawValue)
        }
        for record in answers { record.encode(into: &writer) }
        for record in authorities { record.encode(into: &writer) }
        for record in additionals { record.encode(into: &writer) }
        if writer.bytes.count > 65535 { throw .messageTooLarge(writer.bytes.count) }
        return writer.bytes
    }

    /// Decodes a message, following name compression. A TSIG record, which must be the last
    /// additional record, goes to `tsig` rather than `additionals`.
    public static func decode(_ bytes: [UInt8]) throws(DNSWireError) -> DNSMessage {
        var reader = WireReader(bytes)
        var message = DNSMessage(id: try reader.u16("header"))
        let flags = try reader.u16("header")
        message.isResponse = flags & 0x8000 != 0
        message.opcode = DNSOpcode(rawValue: UInt8((flags >> 11) & 0x0F))
        message.isAuthoritative = flags & 0x0400 != 0
        message.isTruncated = flags & 0x0200 != 0
        message.recursionDesired = flags & 0x0100 != 0
        message.recursionAvailable = flags & 0x0080 != 0
        var rcode = flags & 0x0F
        let counts = (try reader.u16("header"), try reader.u16("header"), try reader.u16("header"), try reader.u16("header"))
        for _ in 0..<counts.0 {
            message.questions.append(DNSQuestion(
                name: try reader.name("question"), type: DNSRecordType(rawValue: try reader.u16("question")),
                recordClass: DNSClass(rawValue: try reader.u16("question"))))
        }
        func records(_ count: UInt16, _ section: String) throws(DNSWireError) -> [DNSResourceRecord] {
            var result: [DNSResourceRecord] = []
            result.reserveCapacity(Int(count))
            for _ in 0..<count {
                let name = try reader.name(section)
                let type = DNSRecordType(rawValue: try reader.u16(section))
                let recordClass = DNSClass(rawValue: try reader.u16(section))
                let ttl = try reader.u32(section)
                let length = Int(try reader.u16(section))
                let data = try DNSRData.decode(type: type, from: &reader, length: length)
                result.append(DNSResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data))
            }
            return result
        }
        message.answers = try records(counts.1, "answer section")
        message.authorities = try records(counts.2, "authority section")
        for index in 0..<counts.3 {
            let start = reader.offset
            let record = try records(1, "additional section")[0]
            if record.type == .tsig {
                guard index == counts.3 - 1 else { throw .malformedMessage("TSIG record is not the last additional record") }
                guard case .unknown(let rdata) = record.data else { throw .malformedMessage("TSIG record without data") }
                message.tsig = try TSIGRecord(keyName: record.name, rdata: rdata)
                message.tsigOffset = start
            } else {
                if record.type == .opt { rcode |= UInt16(record.ttl >> 24) << 4 }
                message.additionals.append(record)
            }
        }
        message.responseCode = DNSResponseCode(rawValue: rcode)
        if reader.offset != bytes.count { throw .malformedMessage("\(bytes.count - reader.offset) octets after the last record") }
        return message
    }
}
