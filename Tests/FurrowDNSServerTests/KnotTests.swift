#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import FurrowDNSWire
import FurrowDNSTestSupport

@Suite("DNS client against Knot", .serialized)
struct KnotTests {
    @Test func signedQueryAndLookupVerifyAgainstKnot() throws {
        let server = try KnotServer(records: ["www A 10.0.0.7", "www A 10.0.0.8", "txt TXT \"hello world\" \"two\""])
        defer { server.stop() }
        let client = DNSClient(server: server.address, key: server.key)
        let answers = try client.lookup(try DNSName("www.test.furrow"), .a)
        #expect(Set(answers.map(\.data.presentation)) == ["10.0.0.7", "10.0.0.8"])
        let unsigned = try lookup("txt.test.furrow", .txt, server: server.address)
        #expect(unsigned.map(\.data.presentation) == ["\"hello world\" \"two\""])
        #expect(try lookup("missing.test.furrow", .a, server: server.address).isEmpty)
    }

    @Test func updateAppliesAndDigSeesIt() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let client = DNSClient(server: server.address, key: server.key)
        let zone = try DNSName("test.furrow")
        let name = try DNSName("tyk.feat-x.test.furrow")
        var update = DNSUpdate(zone: zone)
        update.requireRRSetDoesNotExist(name, .a)
        update.add(name, .a, ttl: 10, values: [try DNSRData(type: .a, text: "10.1.2.3"), try DNSRData(type: .a, text: "10.1.2.4")])
        update.add(try DNSName("svc.test.furrow"), .srv, ttl: 60, values: [try DNSRData(type: .srv, text: "0 5 8080 tyk.feat-x.test.furrow")])
        update.add(try DNSName("note.test.furrow"), .txt, ttl: 60, values: [try DNSRData(type: .txt, text: "\"a b\" \"c\\\"d\"")])
        try client.update(update)
        #expect(try server.dig("tyk.feat-x.test.furrow", "A") == ["10.1.2.3", "10.1.2.4"])
        #expect(try server.dig("svc.test.furrow", "SRV") == ["0 5 8080 tyk.feat-x.test.furrow."])
        #expect(try server.dig("note.test.furrow", "TXT") == ["\"a b\" \"c\\\"d\""])
        #expect(try client.lookup(name, .a).map(\.ttl) == [10, 10])

        // The same create again fails its prerequisite: YXRRSET, named as such.
        do {
            try client.update(update)
            Issue.record("second create succeeded")
        } catch {
            guard case .responseCode(let code, let answeringServer, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(code == .yxRRSet)
            #expect(answeringServer == server.address.description)
            #expect(error.description.contains("update of zone test.furrow."))
        }

        var removal = DNSUpdate(zone: zone)
        removal.requireRRSetExists(name, .a, values: [try DNSRData(type: .a, text: "10.1.2.3"), try DNSRData(type: .a, text: "10.1.2.4")])
        removal.delete(name, .a, values: [try DNSRData(type: .a, text: "10.1.2.3")])
        removal.deleteAllRRSets(try DNSName("note.test.furrow"))
        try client.update(removal)
        #expect(try server.dig("tyk.feat-x.test.furrow", "A") == ["10.1.2.4"])
        #expect(try server.dig("note.test.furrow", "TXT") == [])

        var outside = DNSUpdate(zone: zone)
        outside.add(try DNSName("elsewhere.example"), .a, ttl: 10, values: [try DNSRData(type: .a, text: "10.0.0.1")])
        #expect { try client.update(outside) } throws: { ($0 as? DNSWireError).map { "\($0)".contains("NOTZONE") } ?? false }
    }

    @Test func zoneTransferReadsEverythingAcrossMessages() throws {
        // Enough records that Knot splits the transfer into several TSIG-signed messages.
        let records = (0..<3000).map { "host\($0) A 10.\($0 / 65536).\(($0 / 256) % 256).\($0 % 256)" }
        let server = try KnotServer(records: records + ["big TXT \"" + String(repeating: "x", count: 200) + "\""])
        defer { server.stop() }
        let transferred = try DNSClient(server: server.address, key: server.key).zoneTransfer(try DNSName("test.furrow"))
        #expect(transferred.first?.type == .soa)
        #expect(transferred.count == 1 + 1 + 1 + 3000 + 1)
        #expect(transferred.contains { $0.name == (try? DNSName("host2999.test.furrow")) && $0.data.presentation == "10.0.11.183" })
        let finished = try #require(server.log.split(separator: "\n").first { $0.contains("AXFR, outgoing") && $0.contains("finished") })
        let messageCount = finished.split(separator: ",").first { $0.hasSuffix("messages") }.flatMap { Int($0.split(separator: " ")[0]) } ?? 0
        #expect(messageCount > 1, "the transfer should span several messages: \(finished)")
    }

    @Test func wrongKeyIsRefusedAsBadSignature() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let wrong = TSIGKey(name: server.key.name, algorithm: .hmacSHA256, secret: Array(repeating: 7, count: 32))
        let client = DNSClient(server: server.address, key: wrong)
        var update = DNSUpdate(zone: try DNSName("test.furrow"))
        update.add(try DNSName("x.test.furrow"), .a, ttl: 10, values: [try DNSRData(type: .a, text: "10.0.0.1")])
        do {
            try client.update(update)
            Issue.record("update with a wrong key succeeded")
        } catch {
            #expect(error == .tsig(.badSignature, server: server.address.description, context: "update of zone test.furrow."))
            #expect(error.description.contains("BADSIG"))
        }
        let unknown = try TSIGKey(name: "nobody", algorithm: "hmac-sha256", base64Secret: server.secretBase64)
        #expect(throws: DNSWireError.tsig(.badKey, server: server.address.description, context: "zone transfer of test.furrow.")) {
            try DNSClient(server: server.address, key: unknown).zoneTransfer(try DNSName("test.furrow"))
        }
        #expect(try server.dig("x.test.furrow", "A") == [])
    }

    @Test func serverThatIsDownTimesOut() throws {
        let port = try KnotServer.freePort()
        let client = DNSClient(server: DNSServerAddress(host: "127.0.0.1", port: port), timeout: 0.3, attempts: 2)
        let started = Date()
        #expect(throws: DNSWireError.timeout(server: "127.0.0.1:\(port)", seconds: 0.3, attempts: 2)) {
            try client.lookup(try DNSName("a.test.furrow"), .a)
        }
        #expect(Date().timeIntervalSince(started) >= 0.5)
        // TCP to a closed port is refused at once, and says so.
        #expect { try client.zoneTransfer(try DNSName("test.furrow")) } throws: { "\($0)".contains("refused") }
    }

    @Test(arguments: TSIGKey.Algorithm.allCases)
    func digSignedQueryVerifiesAndReproducesItsMAC(algorithm: TSIGKey.Algorithm) throws {
        // dig signs a query to a socket this test owns; Furrow must accept the signature and,
        // signing the same message at the same time, produce the same MAC.
        let secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
        let key = try TSIGKey(name: "interop-key", algorithm: algorithm.rawValue, base64Secret: secret)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        let port = UInt16(bigEndian: address.sin_port)
        let digProcess = try ExternalTool.start(["dig", "@127.0.0.1", "-p", String(port), "+tries=1", "+time=1",
                                                 "-y", "\(algorithm.rawValue):interop-key:\(secret)",
                                                 "www.test.furrow", "A"])
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&descriptor, 1, 5000) == 1, "dig sent nothing")
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        _ = digProcess.wait()
        let query = Array(buffer[0..<max(count, 0)])
        #expect(try TSIGSigner.verifyRequest(query, key: key))
        let wrong = TSIGKey(name: key.name, algorithm: algorithm, secret: [1, 2, 3])
        #expect(try !TSIGSigner.verifyRequest(query, key: wrong))

        let decoded = try DNSMessage.decode(query)
        let tsig = try #require(decoded.tsig)
        var signer = TSIGSigner(key: key)
        signer.fudge = tsig.fudge
        let resigned = try signer.sign(Array(query[0..<decoded.tsigOffset!]).withAdditionalCount(minus: 1), time: tsig.timeSigned)
        #expect(signer.requestMAC == tsig.mac)
        #expect(resigned == query)
    }

    @Test func nsupdateChangesAreReadBackAndOursAreSeenByDig() throws {
        let server = try KnotServer()
        defer { server.stop() }
        let script = """
        server 127.0.0.1 \(server.port)
        zone test.furrow.
        update add from-nsupdate.test.furrow. 120 A 10.9.9.9
        update add from-nsupdate.test.furrow. 120 TXT "made by" "nsupdate"
        send

        """
        let result = try ExternalTool.run(["nsupdate", "-y", server.digKeyArgument], input: script)
        #expect(result.status == 0, "nsupdate failed: \(result.stderr)")
        let records = try DNSClient(server: server.address, key: server.key).zoneTransfer(try DNSName("test.furrow"))
        let ours = records.filter { $0.name == (try? DNSName("from-nsupdate.test.furrow")) }
        #expect(Set(ours.map(\.data.presentation)) == ["10.9.9.9", "\"made by\" \"nsupdate\""])
        let transferByDig = try ExternalTool.run(["dig", "@127.0.0.1", "-p", String(server.port), "-y", server.digKeyArgument,
                                                  "test.furrow", "AXFR"])
        #expect(transferByDig.stdout.contains("from-nsupdate.test.furrow. 120 IN A\t10.9.9.9")
                || transferByDig.stdout.contains("10.9.9.9"))
        #expect(!transferByDig.stdout.contains("BADSIG"))
    }
}

extension Array where Element == UInt8 {
    /// The message with its ARCOUNT lowered, as it was before a TSIG record was appended.
    func withAdditionalCount(minus amount: UInt16) -> [UInt8] {
        var copy = self
        let count = UInt16(copy[10]) << 8 | UInt16(copy[11])
        copy[10] = UInt8((count - amount) >> 8)
        copy[11] = UInt8((count - amount) & 0xFF)
        return copy
    }
}
