/// The text of an interpolated string (`"k${i}=${v}"`) while it is built.
///
/// Appending to a Swift `String` piece by piece, and turning each int into a `String` first,
/// costs a few hundred instructions a piece. Most templates make short strings, so the bytes
/// go into a fixed buffer held inline, ints written as digits straight into it, and one
/// `String` is made at the end; a text that outgrows the buffer continues in a `String`.
struct TemplateText {
    static let capacity = 64
    private var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var count = 0
    /// The text so far, once it did not fit in the buffer.
    private var overflow: String?

    mutating func append(_ s: String) {
        if overflow != nil {
            overflow!.append(s)
            return
        }
        let copied = s.utf8.withContiguousStorageIfAvailable { (bytes: UnsafeBufferPointer<UInt8>) -> Bool in
            store(bytes)
        } ?? false
        if !copied {
            spill()
            overflow!.append(s)
        }
    }

    /// `n` in decimal, as `String(n)` writes it.
    mutating func append(_ n: Int) {
        if overflow != nil {
            overflow!.append(String(n))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let stored = withUnsafeMutableBytes(of: &digits) { (d: UnsafeMutableRawBufferPointer) -> Bool in
            var magnitude = n.magnitude
            var start = d.count
            repeat {
                start -= 1
                d[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if n < 0 {
                start -= 1
                d[start] = UInt8(ascii: "-")
            }
            let written = UnsafeRawBufferPointer(rebasing: d[start...])
            return written.withMemoryRebound(to: UInt8.self) { store($0) }
        }
        if !stored {
            spill()
            overflow!.append(String(n))
        }
    }

    /// The text built.
    func finish() -> String {
        if let overflow { return overflow }
        return withUnsafeBytes(of: buffer) { String(decoding: $0.prefix(count), as: UTF8.self) }
    }

    /// Copies `bytes` into the buffer if they fit (whole strings only, so the buffer always
    /// holds valid UTF-8).
    private mutating func store(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count + bytes.count <= Self.capacity else { return false }
        guard let source = bytes.baseAddress else { return true }
        let offset = count
        withUnsafeMutableBytes(of: &buffer) { $0.baseAddress!.advanced(by: offset).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
        return true
    }

    private mutating func spill() {
        overflow = finish()
        count = 0
    }
}
