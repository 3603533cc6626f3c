import Testing
@testable import FurrowDNSWire

@Suite("TSIG")
struct TSIGTests {
    let key = TSIGKey(name: try! DNSName("k."), algorithm: .hmacSHA256, secret: Array("0123456789abcdef0123456789abcdef".utf8))

    /// A response to `request` signed as a server would, with the given TSIG error and time.
    func signedResponse(to request: [UInt8], requestMAC: [UInt8], error: UInt16 = 0, time: UInt64, tamper: Bool = false) throws -> [UInt8] {
        var response = try DNSMessage.decode(request)
        response.isResponse = true
        response.answers = [DNSResourceRecord(name: try DNSName("a.example"), type: .a, ttl: 5, data: .a([10, 0, 0, 1]))]
        let body = try response.encoded()
        var record = TSIGRecord(keyName: key.name, algorithm: key.algorithm.wireName, timeSigned: time, fudge: 300, mac: [],
                                originalID: response.id, error: error, otherData: [])
        var input = WireWriter()
        input.u16(UInt16(requestMAC.count))
        input.append(requestMAC)
        input.append(body)
        input.append(record.variables(timersOnly: false))
        record.mac = key.algorithm.mac(input.bytes, secret: key.secret)
        if tamper { record.mac[0] ^= 1 }
        var writer = WireWriter(bytes: body)
        writer.patchU16(at: 10, 1)
        DNSResourceRecord(name: key.name, type: .tsig, recordClass: .any, ttl: 0, data: .unknown(record.rdata)).encode(into: &writer)
        return writer.bytes
    }

    @Test func signedRequestsVerifyAndResponsesChain() throws {
        var signer = TSIGSigner(key: key)
        let request = try signer.sign(try DNSMessage.query(try DNSName("a.example"), .a).encoded(), time: 1_700_000_000)
        #expect(try TSIGSigner.verifyRequest(request, key: key))
        let response = try signedResponse(to: request, requestMAC: signer.requestMAC, time: 1_700_000_010)
        try signer.verify(response: try DNSMessage.decode(response), bytes: response, server: "s", context: "c", now: 1_700_000_020)
    }

    @Test func tamperedSkewedAndRejectedResponsesFailClearly() throws {
        func outcome(error: UInt16 = 0, tamper: Bool = false) throws -> DNSWireError? {
            var signer = TSIGSigner(key: key)
            let request = try signer.sign(try DNSMessage.query(try DNSName("a.example"), .a).encoded(), time: 1_700_000_000)
            let response = try signedResponse(to: request, requestMAC: signer.requestMAC, error: error, time: 1_700_000_000, tamper: tamper)
            do {
                try signer.verify(response: try DNSMessage.decode(response), bytes: response, server: "127.0.0.1:53", context: "lookup")
                return nil
            } catch {
                return error
            }
        }
        var signer = TSIGSigner(key: key)
        let request = try signer.sign(try DNSMessage.query(try DNSName("a.example"), .a).encoded(), time: 1_700_000_000)
        let good = try signedResponse(to: request, requestMAC: signer.requestMAC, time: 1_700_000_000)
        #expect(throws: DNSWireError.tsig(.badTime, server: "s", context: "c")) {
            try signer.verify(response: try DNSMessage.decode(good), bytes: good, server: "s", context: "c", now: 1_700_001_000)
        }
        #expect(try outcome(tamper: true) == .tsig(.responseSignatureMismatch, server: "127.0.0.1:53", context: "lookup"))
        #expect(try outcome(error: 18) == .tsig(.badTime, server: "127.0.0.1:53", context: "lookup"))
        #expect(try outcome(error: 16) == .tsig(.badSignature, server: "127.0.0.1:53", context: "lookup"))
        #expect(DNSWireError.tsig(.badTime, server: "127.0.0.1:53", context: "lookup").description
                == "lookup at 127.0.0.1:53: TSIG BADTIME: the signing time is outside the allowed window (check clocks)")
    }
}
