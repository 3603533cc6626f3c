import Foundation
import Testing
import FurrowTestSupport
@testable import FurrowDNSWire

@Suite("DNS wire format")
struct WireTests {
    @Test func namesParseCompareAndPrint() throws {
        let name = try DNSName("Tyk.Feat-X.dev.example.com")
        #expect(name == (try DNSName("tyk.feat-x.dev.example.com.")))
        #expect(name.description == "Tyk.Feat-X.dev.example.com.")
        #expect(name.lowercased.description == "tyk.feat-x.dev.example.com.")
        #expect(name.isSubdomain(of: try DNSName("example.com")))
        #expect(!(try DNSName("example.com")).isSubdomain(of: name))
        #expect(try DNSName("EXAMPLE.com").isSubdomain(of: try DNSName("example.COM")))
        #expect(!(try DNSName("aexample.com")).isSubdomain(of: try DNSName("example.com")))
        #expect(!(try DNSName("x.aexample.com")).isSubdomain(of: try DNSName("example.com")))
        #expect(!(try DNSName("a\\.example.com")).isSubdomain(of: try DNSName("example.com")))
        #expect(name.isSubdomain(of: .root))
        #expect(try DNSName("a\\.b.c").labels.count == 2)
        #expect(try DNSName("a\\.b.c").description == "a\\.b.c.")
        #expect(try DNSName("\\065b.c").description == "Ab.c.")
        #expect(DNSName.root.description == ".")
    }

    @Test func nameLimitsAreEnforced() throws {
        let longLabel = String(repeating: "a", count: 64)
        #expect(throws: DNSWireError.self) { try DNSName("\(longLabel).com") }
        #expect(throws: Never.self) { try DNSName("\(String(repeating: "a", count: 63)).com") }
        let longName = Array(repeating: String(repeating: "b", count: 63), count: 4).joined(separator: ".")
        #expect(throws: DNSWireError.self) { try DNSName(longName) } // 4*64+1 = 257 octets
        #expect(throws: DNSWireError.self) { try DNSName("a..b") }
    }

    @Test func namesAreOneWireFormBuffer() throws {
        let name = try DNSName("Svc1.a\\.b.Example.com.")
        #expect(name.wire == [4] + Array("Svc1".utf8) + [3] + Array("a.b".utf8) + [7] + Array("Example".utf8) + [3] + Array("com".utf8) + [0])
        #expect(name.labelCount == 4)
        #expect(name.labels == [Array("Svc1".utf8), Array("a.b".utf8), Array("Example".utf8), Array("com".utf8)])
        #expect(name.lowercased.wire == Array(name.canonicalKey))
        // An escaped capital is a capital: it compares and hashes like the lowercase name.
        let escaped = try DNSName("\\065b.c")
        #expect(escaped == (try DNSName("ab.c")))
        #expect(Set([escaped, try DNSName("AB.C"), try DNSName("ab.c.")]).count == 1)
        #expect(try DNSName(wire: name.wire) == name)
        #expect(name.droppingFirstLabels(2).description == "Example.com.")
        #expect(name.droppingFirstLabels(9) == .root)
        #expect(name.keepingFirstLabels(2).description == "Svc1.a\\.b.")
        #expect(try name.droppingFirstLabels(2).prepending([Array("x".utf8)]).description == "x.Example.com.")
        #expect(name.firstLabel.map { Array($0) } == Array("Svc1".utf8))
        #expect(DNSName.root.firstLabel == nil)
        // A wire form must end in the root's zero, exactly once, with labels of at most 63 octets.
        #expect(throws: DNSWireError.self) { try DNSName(wire: [1, 97]) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [1, 97, 0, 0]) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [64] + Array(repeating: 97, count: 64) + [0]) }
        #expect(throws: DNSWireError.self) { try DNSName.root.prepending([[]]) }
    }

    @Test func nameErrorsSaySyntaxFirstThenLengths() throws {
        func message(_ text: String) -> String {
            do { _ = try DNSName(text); return "parsed" } catch { return error.description }
        }
        let long = String(repeating: "a", count: 64)
        #expect(message("\(long).x..y").contains("empty label in '\(long).x..y'"))
        #expect(message("\(long).com").contains("label '\(long)' is 64 octets long; the limit is 63"))
        // Longer than a length octet can say: still an error, never a wrapped length.
        let huge = String(repeating: "b", count: 300)
        #expect(message(huge).contains("is 300 octets long; the limit is 63"))
        #expect(message("a.b\\").contains("dangling escape in 'a.b\\'"))
        #expect(message("a\\300.b").contains("escape \\300 out of range in 'a\\300.b'"))
        #expect(message("a\\.b.") == "parsed")
    }

    @Test func rdataRoundTripsThroughPresentationAndWire() throws {
        let cases: [(DNSRecordType, String, String)] = [
            (.a, "10.0.0.7", "10.0.0.7"),
            (.aaaa, "2001:db8::1", "2001:db8::1"),
            (.cname, "target.example.com", "target.example.com."),
            (.ns, "ns1.example.com.", "ns1.example.com."),
            (.ptr, "host.example.com", "host.example.com."),
            (.mx, "10 mail.example.com", "10 mail.example.com."),
            (.srv, "0 5 5060 sip.example.com", "0 5 5060 sip.example.com."),
            (.txt, "\"hello world\" \"second \\\"quoted\\\"\"", "\"hello world\" \"second \\\"quoted\\\"\""),
            (.txt, "plain", "\"plain\""),
            (.txt, "\"tab\\009\"", "\"tab\\009\""),
            (.soa, "ns.example.com. admin.example.com. 7 3600 600 86400 300", "ns.example.com. admin.example.com. 7 3600 600 86400 300"),
            (DNSRecordType(rawValue: 65280), "\\# 3 ABCDEF", "\\# 3 ABCDEF"),
        ]
        for (type, input, printed) in cases {
            let data = try DNSRData(type: type, text: input)
            #expect(data.presentation == printed, "\(type) \(input)")
            var reader = WireReader(data.wireBytes)
            let decoded = try DNSRData.decode(type: type, from: &reader, length: data.wireBytes.count)
            #expect(decoded == data, "\(type) \(input)")
            #expect(try DNSRData(type: type, text: decoded.presentation) == data)
        }
        if case .txt(let strings) = try DNSRData(type: .txt, text: "\"a\" \"b c\" d") { #expect(strings.count == 3) } else { Issue.record("not TXT") }
    }

    @Test func plainAddressesAndTextsReadLikeTheGeneralForm() throws {
        #expect(try DNSRData(type: .a, text: "10.0.0.1") == .a([10, 0, 0, 1]))
        #expect(try DNSRData(type: .a, text: "0.0.0.0") == .a([0, 0, 0, 0]))
        #expect(try DNSRData(type: .a, text: "255.255.255.255") == .a([255, 255, 255, 255]))
        #expect(try DNSRData(type: .a, text: " 10.0.0.2 ") == .a([10, 0, 0, 2]))
        for bad in ["01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "256.1.1.1", "1.2.3.4x", ""] {
            #expect(throws: DNSWireError.self, "\(bad)") { try DNSRData(type: .a, text: bad) }
            var text = bad
            text.withUTF8 { bytes in #expect(throws: DNSWireError.self, "\(bad)") { try DNSRData(type: .a, presentation: bytes) } }
        }
        // An address is four octets in the data, highest first, and prints as a dotted quad.
        let address = try DNSRData(type: .a, text: "192.0.2.254")
        #expect(address.wireBytes == [192, 0, 2, 254])
        #expect(address.presentation == "192.0.2.254")
        var reader = WireReader([192, 0, 2, 254])
        #expect(try DNSRData.decode(type: .a, from: &reader, length: 4) == address)
        var text = "192.0.2.254"
        #expect(try text.withUTF8 { try DNSRData(type: .a, presentation: $0) } == address)
        // Bytes that are not the plain form go to the general reader, errors included.
        var generic = "\\# 4 0A000001"
        #expect(try generic.withUTF8 { try DNSRData(type: .a, presentation: $0) } == .a([10, 0, 0, 1]))
        var twoWords = "10.1.2.3 4"
        #expect(throws: DNSWireError.self) { try twoWords.withUTF8 { try DNSRData(type: .a, presentation: $0) } }
        #expect(try DNSRData(type: .txt, text: "\"heritage=furrow,owner=a\"") == .txt([Array("heritage=furrow,owner=a".utf8)]))
        #expect(try DNSRData(type: .txt, text: "\"\"") == .txt([[]]))
        #expect(try DNSRData(type: .txt, text: "\"a b\"") == .txt([Array("a b".utf8)]))
        #expect(try DNSRData(type: .txt, text: "\"a\\\"b\"") == .txt([Array("a\"b".utf8)]))
        #expect(try DNSRData(type: .txt, text: "\"a\" \"b\"") == .txt([[UInt8(ascii: "a")], [UInt8(ascii: "b")]]))
        #expect(try DNSRData(type: .txt, text: "\"" + String(repeating: "x", count: 255) + "\"") == .txt([Array(repeating: UInt8(ascii: "x"), count: 255)]))
    }

    @Test func invalidRDataIsRefusedWithTheReason() {
        #expect(throws: DNSWireError.self) { try DNSRData(type: .a, text: "10.0.0.256") }
        #expect(throws: DNSWireError.self) { try DNSRData(type: .aaaa, text: "10.0.0.1") }
        #expect(throws: DNSWireError.self) { try DNSRData(type: .mx, text: "mail.example.com") }
        #expect(throws: DNSWireError.self) { try DNSRData(type: .txt, text: "\"unterminated") }
        #expect(throws: DNSWireError.self) { try DNSRData(type: .txt, text: "\"" + String(repeating: "x", count: 256) + "\"") }
        do {
            _ = try DNSRData(type: .srv, text: "1 2 99999 x.example.com")
            Issue.record("accepted a port out of range")
        } catch {
            #expect(error.description.contains("port '99999'"))
        }
    }

    @Test func messagesRoundTripAndDecodeCompressedNames() throws {
        var message = DNSMessage(id: 0x1234, opcode: .query, isResponse: true)
        message.isAuthoritative = true
        message.responseCode = .nameError
        message.questions = [DNSQuestion(name: try DNSName("www.example.com"), type: .a)]
        message.answers = [DNSResourceRecord(name: try DNSName("www.example.com"), type: .cname, ttl: 60, data: .cname(try DNSName("web.example.com")))]
        message.additionals = [DNSResourceRecord(name: try DNSName("web.example.com"), type: .txt, ttl: 5, data: .txt([Array("x".utf8)]))]
        let decoded = try DNSMessage.decode(try message.encoded())
        #expect(decoded.id == 0x1234 && decoded.isResponse && decoded.isAuthoritative)
        #expect(decoded.responseCode == .nameError)
        #expect(decoded.questions == message.questions)
        #expect(decoded.answers == message.answers)
        #expect(decoded.additionals == message.additionals)

        // A hand-made answer using compression: the answer's owner points at the question name
        // (offset 12) and the CNAME target reuses "example.com" from inside it.
        var bytes: [UInt8] = [0xAB, 0xCD, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]
        bytes += [3] + Array("www".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 5, 0, 1]
        bytes += [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60]
        let rdata: [UInt8] = [3] + Array("web".utf8) + [0xC0, 16]
        bytes += [0, UInt8(rdata.count)] + rdata
        let compressed = try DNSMessage.decode(bytes)
        #expect(compressed.answers.first?.name == (try DNSName("www.example.com")))
        #expect(compressed.answers.first?.data == .cname(try DNSName("web.example.com")))
    }

    @Test func malformedMessagesAreRejected() throws {
        #expect(throws: DNSWireError.self) { try DNSMessage.decode([0, 1, 2]) }
        // A compression pointer that points at itself.
        var loop: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        loop += [0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSWireError.self) { try DNSMessage.decode(loop) }
        // A question count larger than the message.
        #expect(throws: DNSWireError.self) { try DNSMessage.decode([0, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0]) }
    }

    @Test func updateMessagesUseRFC2136Classes() throws {
        let zone = try DNSName("test.furrow")
        let name = try DNSName("a.test.furrow")
        var update = DNSUpdate(zone: zone)
        update.requireNameInUse(name)
        update.requireNameNotInUse(name)
        update.requireRRSetExists(name, .a)
        update.requireRRSetExists(name, .a, values: [try DNSRData(type: .a, text: "10.0.0.1")])
        update.requireRRSetDoesNotExist(name, .txt)
        update.add(name, .a, ttl: 60, values: [try DNSRData(type: .a, text: "10.0.0.2")])
        update.deleteRRSet(name, .txt)
        update.delete(name, .a, values: [try DNSRData(type: .a, text: "10.0.0.1")])
        update.deleteAllRRSets(name)
        let decoded = try DNSMessage.decode(try update.message.encoded())
        #expect(decoded.opcode == .update)
        #expect(decoded.questions == [DNSQuestion(name: zone, type: .soa)])
        #expect(decoded.answers.map(\.recordClass) == [.any, .none, .any, .internet, .none])
        #expect(decoded.answers.map(\.type) == [.any, .any, .a, .a, .txt])
        #expect(decoded.authorities.map(\.recordClass) == [.internet, .any, .none, .any])
        #expect(decoded.authorities.map(\.ttl) == [60, 0, 0, 0])
        #expect(update.encodedSize == (try update.message.encoded()).count)
    }

    @Test func keyFilesParse() throws {
        let text = """
        # generated by tsig-keygen
        key "furrow-test." {
            algorithm hmac-sha256;
            secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";
        };
        /* a second key */
        key other { algorithm hmac-sha512; secret "b3RoZXI="; };
        """
        let key = try TSIGKey.parseKeyFile(text, named: "furrow-test")
        #expect(key.name == (try DNSName("furrow-test")))
        #expect(key.algorithm == .hmacSHA256)
        #expect(!key.description.contains("c2Vj"))
        #expect(try TSIGKey.parseKeyFile(text, named: "other").algorithm == .hmacSHA512)
        #expect(throws: DNSWireError.self) { try TSIGKey.parseKeyFile(text) }
        #expect(throws: DNSWireError.self) { try TSIGKey.parseKeyFile("key \"k\" { algorithm hmac-md4; secret \"AA==\"; };") }
        #expect(throws: DNSWireError.self) { try TSIGKey.parseKeyFile("key \"k\" { algorithm hmac-sha256; };") }
    }

    @Test func serverAddressesParse() throws {
        #expect(try DNSServerAddress("127.0.0.1:5300") == DNSServerAddress(host: "127.0.0.1", port: 5300))
        #expect(try DNSServerAddress("[::1]:53").host == "::1")
        #expect(try DNSServerAddress("ns.example.com").port == 53)
    }
}

@Test func keyFilesLoadFromDiskWithTheirPathInErrors() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-key-\(UUID().uuidString).key").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "key \"disk-key\" { algorithm hmac-sha1; secret \"c2VjcmV0\"; };\n".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(try TSIGKey(contentsOfKeyFile: path).algorithm == .hmacSHA1)
    #expect(throws: DNSWireError.invalidKeyFile("\(path): no key named \"other\" in the file")) {
        try TSIGKey(contentsOfKeyFile: path, named: "other")
    }
    #expect { try TSIGKey(contentsOfKeyFile: path + ".missing") } throws: { "\($0)".contains(".missing") }
}

@Test func systemResolverComesFromResolvConf() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-resolv-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1\n".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(try DNSServerAddress.systemResolver(resolvConf: path) == DNSServerAddress(host: "127.0.0.53", port: 53))
    #expect(throws: DNSWireError.self) { try DNSServerAddress.systemResolver(resolvConf: path + ".missing") }
}

@Test func corruptedMessagesNeverCrashTheDecoder() throws {
    // Mutations of a valid signed message and plain random bytes: decode must throw or succeed.
    let key = TSIGKey(name: try DNSName("k"), algorithm: .hmacSHA256, secret: [1, 2, 3])
    var base = DNSMessage.query(try DNSName("a.example.com"), .txt)
    base.answers = [DNSResourceRecord(name: try DNSName("a.example.com"), type: .mx, ttl: 1, data: try DNSRData(type: .mx, text: "1 m.example.com")),
                    DNSResourceRecord(name: try DNSName("a.example.com"), type: .soa, ttl: 1,
                                      data: try DNSRData(type: .soa, text: "a. b. 1 2 3 4 5"))]
    var signer = TSIGSigner(key: key)
    let valid = try signer.sign(try base.encoded())
    var generator = SplitMix(seed: 0xF022)
    for round in 0..<20_000 {
        var bytes: [UInt8]
        if round % 4 == 0 {
            bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        } else {
            bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if round % 3 == 0 { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator)) }
        }
        if let message = try? DNSMessage.decode(bytes) {
            _ = try? TSIGSigner.verifyRequest(bytes, key: key)
            _ = message.answers.map(\.description)
        }
    }
}

@Test func escapedNamesSurviveAPresentationRoundTrip() throws {
    for text in ["4c__\\\\183\\7.d", "6fE-1\\6\\\\.7#@)a5F", "a\\.b.c", "x\\032y"] {
        let data = try DNSRData(type: .cname, text: text)
        #expect(try DNSRData(type: .cname, text: data.presentation) == data, "\(text) → \(data.presentation)")
    }
}

@Test func randomPresentationTextNeverCrashesTheParsers() throws {
    let alphabet = Array("0123456789abcdefABCDEF .:\\\"#*_-()\t;@$")
    let types: [DNSRecordType] = [.a, .aaaa, .cname, .ns, .ptr, .mx, .srv, .txt, .soa, DNSRecordType(rawValue: 99)]
    // Seeded, so a failure names a reproducible case.
    var generator = SplitMix(seed: 0xD15)
    for round in 0..<20_000 {
        let text = String((0..<Int.random(in: 0..<40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        if let data = try? DNSRData(type: types[round % types.count], text: text) {
            #expect(try DNSRData(type: types[round % types.count], text: data.presentation) == data, "\(text)")
        }
        _ = try? DNSName(text)
    }
}
