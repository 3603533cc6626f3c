/// Appends DNS wire-format fields in network byte order.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes.append(UInt8(value >> 8)); bytes.append(UInt8(value & 0xFF)) }
    mutating func u32(_ value: UInt32) { u16(UInt16(value >> 16)); u16(UInt16(value & 0xFFFF)) }
    mutating func u48(_ value: UInt64) { u16(UInt16((value >> 32) & 0xFFFF)); u32(UInt32(value & 0xFFFF_FFFF)) }
    mutating func append(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    /// Writes a name uncompressed. Furrow never compresses on output: messages stay simple and
    /// TSIG needs canonical names anyway.
    mutating func name(_ name: DNSName) { bytes.append(contentsOf: name.wire) }

    /// Overwrites a 16-bit field written earlier (lengths and counts known only later).
    mutating func patchU16(at offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xFF)
    }
}

/// Reads DNS wire-format fields, following compression pointers within the whole message.
struct WireReader {
    let message: [UInt8]
    var offset: Int
    var limit: Int

    init(_ message: [UInt8], offset: Int = 0, limit: Int? = nil) {
        self.message = message
        self.offset = offset
        self.limit = limit ?? message.count
    }

    var remaining: Int { limit - offset }

    mutating func need(_ count: Int, _ what: String) throws(DNSWireError) {
        if offset + count > limit { throw .malformedMessage("truncated while reading \(what) at offset \(offset)") }
    }

    mutating func u8(_ what: String) throws(DNSWireError) -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return message[offset]
    }

    mutating func u16(_ what: String) throws(DNSWireError) -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return UInt16(message[offset]) << 8 | UInt16(message[offset + 1])
    }

    mutating func u32(_ what: String) throws(DNSWireError) -> UInt32 {
        let high = try u16(what), low = try u16(what)
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func u48(_ what: String) throws(DNSWireError) -> UInt64 {
        let high = try u16(what), low = try u32(what)
        return UInt64(high) << 32 | UInt64(low)
    }

    mutating func bytes(_ count: Int, _ what: String) throws(DNSWireError) -> [UInt8] {
        try need(count, what)
        defer { offset += count }
        return Array(message[offset..<offset + count])
    }

    /// Reads a possibly compressed name. Pointers must point backwards, which also rules out loops.
    mutating func name(_ what: String) throws(DNSWireError) -> DNSName {
        var wire: [UInt8] = []
        var labelCount = 0
        var position = offset
        var resumeAt: Int? = nil
        var wireLength = 1
        while true {
            guard position < (resumeAt == nil ? limit : message.count) else {
                throw .malformedMessage("truncated name in \(what) at offset \(position)")
            }
            let length = Int(message[position])
            if length & 0xC0 == 0xC0 {
                guard position + 1 < message.count else { throw .malformedMessage("truncated compression pointer in \(what)") }
                let target = (length & 0x3F) << 8 | Int(message[position + 1])
                guard target < position else { throw .malformedMessage("forward compression pointer in \(what) at offset \(position)") }
                if resumeAt == nil { resumeAt = position + 2 }
                position = target
                continue
            }
            guard length & 0xC0 == 0 else { throw .malformedMessage("unsupported label type in \(what) at offset \(position)") }
            if length == 0 {
                position += 1
                break
            }
            guard position + 1 + length <= message.count else { throw .malformedMessage("truncated label in \(what)") }
            wireLength += 1 + length
            guard wireLength <= DNSName.maxWireLength else { throw .malformedMessage("name longer than 255 octets in \(what)") }
            wire.append(contentsOf: message[position...(position + length)])
            labelCount += 1
            position += 1 + length
        }
        wire.append(0)
        offset = resumeAt ?? position
        if offset > limit { throw .malformedMessage("name runs past the end of \(what)") }
        return DNSName(checkedWire: wire, labelCount: labelCount)
    }
}
