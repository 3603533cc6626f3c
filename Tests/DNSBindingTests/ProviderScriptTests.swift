import Foundation
import FurrowAWS
import FurrowDNSTestSupport
import FurrowDNSWire
import FurrowTestSupport
import Testing

/// The golden DNS scripts (`Tests/Scripts/dns/*.furrow`, which the golden runner runs on the
/// local provider) run unchanged through the real binary against Route53 (the local AWS server)
/// and an RFC 2136 server (Knot), with the same expected output.
@Suite struct ProviderScriptTests {
    @Test(arguments: GoldenScript.scripts(in: "dns"))
    func route53(_ script: GoldenScript) throws {
        let aws = try SharedAWS.server()
        let zone = "\(script.zoneLabel)-\(UUID().uuidString.prefix(8).lowercased()).test.furrow"
        _ = try SharedAWS.route53().createHostedZone(name: zone)
        let mismatches = try script.run(environment: SharedAWS.environment(aws, zone: zone))
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test(arguments: GoldenScript.scripts(in: "dns"))
    func rfc2136(_ script: GoldenScript) throws {
        let knot = try KnotServer()
        defer { knot.stop() }
        let mismatches = try script.run(environment: try Knot.environment(knot))
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test func everyScriptIsFound() {
        #expect(GoldenScript.scripts(in: "dns").count >= 8)
    }
}

/// What only a real server can show: results seen by `dig`, authentication failures, zones and
/// servers that are not there, an interrupted sync.
@Suite struct ProviderFailureTests {
    @Test func rfc2136ResultsAreSeenByDigAndLookup() throws {
        let knot = try KnotServer()
        defer { knot.stop() }
        let server = "127.0.0.1:\(knot.port)"
        let result = try runFurrowProgram("""
            let z = dns.zone()
            z.sync([
              {name: "tyk.feat-x", type: "A", values: ["10.0.0.8", "10.0.0.7"]},
              {name: "docs", type: "CNAME", values: ["lb.example.net."]},
              {name: "txt", type: "TXT", values: ["hello world"]},
            ], owner: "chitragupta")
            print(dns.lookup("tyk.feat-x.test.furrow", "A", server: "\(server)"))
            print(dns.lookup("docs.test.furrow", "CNAME", server: "\(server)"))
            print(dns.lookup("nothing.test.furrow", server: "\(server)"))
            """, environment: try Knot.environment(knot))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "[\"10.0.0.7\", \"10.0.0.8\"]\n[\"lb.example.net.\"]\n[]\n", "\(result.stderr)")
        #expect(try knot.dig("tyk.feat-x.test.furrow", "A") == ["10.0.0.7", "10.0.0.8"])
        #expect(try knot.dig("docs.test.furrow", "CNAME") == ["lb.example.net."])
        #expect(try knot.dig("txt.test.furrow", "TXT") == ["\"hello world\""])
        #expect(try knot.dig("_furrow-owner.tyk.feat-x.test.furrow", "TXT") == ["\"heritage=furrow,owner=chitragupta\""])
        // The next sync removes what is no longer desired, as dig sees.
        let again = try runFurrowProgram("""
            dns.zone().sync([{name: "docs", type: "CNAME", values: ["lb.example.net."]}], owner: "chitragupta")
            """, environment: try Knot.environment(knot))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try knot.dig("tyk.feat-x.test.furrow", "A") == [])
        #expect(try knot.dig("_furrow-owner.tyk.feat-x.test.furrow", "TXT") == [])
        #expect(try knot.dig("docs.test.furrow", "CNAME") == ["lb.example.net."])
    }

    /// The local zone's `zone_file()` is zone-file text a real server loads: Knot serves it and
    /// dig reads the records back.
    @Test func localZoneFileLoadsIntoKnot() throws {
        let exported = try runFurrowProgram("""
            let z = dns.zone("test.furrow")
            z.sync([
              {name: "www", type: "A", values: ["10.0.0.1", "10.0.0.2"]},
              {name: "txt", type: "TXT", values: ["hello world", "\\"a\\" \\"b\\""]},
              {name: "*.apps", type: "CNAME", values: ["lb.example.net."]},
              {name: "mail", type: "MX", values: ["10 mx.example.net."]},
            ], owner: "chitragupta")
            print(z.zone_file())
            """, environment: [:])
        #expect(exported.status == 0, "\(exported.stderr)")
        let lines = exported.stdout.split(separator: "\n").map(String.init)
        #expect(lines.prefix(4) == ["$ORIGIN test.furrow.", "$TTL 300",
                                     "@ 3600 IN SOA ns.test.furrow. hostmaster.test.furrow. 1 3600 600 86400 300",
                                     "@ 3600 IN NS ns.test.furrow."])
        let knot = try KnotServer(records: Array(lines.dropFirst(4)))
        defer { knot.stop() }
        #expect(try knot.dig("www.test.furrow", "A") == ["10.0.0.1", "10.0.0.2"])
        #expect(try knot.dig("txt.test.furrow", "TXT") == ["\"a\" \"b\"", "\"hello world\""])
        #expect(try knot.dig("x.apps.test.furrow", "CNAME") == ["lb.example.net."])
        #expect(try knot.dig("mail.test.furrow", "MX") == ["10 mx.example.net."])
        #expect(try knot.dig("_furrow-owner.www.test.furrow", "TXT") == ["\"heritage=furrow,owner=chitragupta\""])
    }

    @Test func wrongTSIGKeyIsRefused() throws {
        let knot = try KnotServer()
        defer { knot.stop() }
        var environment = try Knot.environment(knot)
        environment["FURROW_DNS_TSIG_KEY"] = try Knot.keyFile(name: "furrow-test.", secret: Data(repeating: 7, count: 32).base64EncodedString())
        let result = try runFurrowProgram("""
            try {
              dns.zone().records()
            } catch e {
              print(e.kind)
              fail(e.message)
            }
            """, environment: environment)
        #expect(result.status == 1)
        #expect(result.stdout == "dns\n")
        #expect(result.stderr.contains("test.furrow") && result.stderr.contains("127.0.0.1:\(knot.port)"), "\(result.stderr)")
        #expect(result.stderr.contains("NOTAUTH") || result.stderr.contains("BADSIG"), "\(result.stderr)")
        #expect(!result.stderr.contains(knot.secretBase64))
    }

    @Test func rfc2136ZoneThatDoesNotExist() throws {
        let knot = try KnotServer()
        defer { knot.stop() }
        var environment = try Knot.environment(knot)
        environment["FURROW_DNS_ZONE"] = "absent.furrow"
        let result = try runFurrowProgram("dns.zone().upsert(\"a\", \"A\", [\"10.0.0.1\"])", environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr.contains("dns error") && result.stderr.contains("absent.furrow"), "\(result.stderr)")
    }

    @Test func route53ZoneThatDoesNotExist() throws {
        let aws = try SharedAWS.server()
        let result = try runFurrowProgram("dns.zone().records()", environment: SharedAWS.environment(aws, zone: "absent.test.furrow"))
        #expect(result.status == 1)
        #expect(result.stderr.contains("no Route53 hosted zone named absent.test.furrow"), "\(result.stderr)")
    }

    @Test func rfc2136ServerThatIsDown() throws {
        let port = try KnotServer.freePort()
        let result = try runFurrowProgram("dns.zone().records()", environment: [
            "FURROW_DNS_PROVIDER": "rfc2136", "FURROW_DNS_ZONE": "test.furrow", "FURROW_DNS_SERVER": "127.0.0.1:\(port)",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("dns error") && result.stderr.contains("127.0.0.1:\(port)"), "\(result.stderr)")
    }

    @Test func route53EndpointThatIsDown() throws {
        let port = try LocalAWSServer.freePort()
        let result = try runFurrowProgram("dns.zone().records()", environment: [
            "FURROW_DNS_PROVIDER": "route53", "FURROW_DNS_ZONE": "test.furrow", "FURROW_AWS_ENDPOINT": "http://127.0.0.1:\(port)",
            "FURROW_AWS_REGION": LocalAWSServer.region, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("dns error") && result.stderr.contains("test.furrow"), "\(result.stderr)")
    }

    /// With `wait: true` each change batch is followed by GetChange until it is INSYNC.
    @Test func route53WaitsForInSync() throws {
        let aws = try SharedAWS.server()
        let zone = "wait-\(UUID().uuidString.prefix(8).lowercased()).test.furrow"
        _ = try SharedAWS.route53().createHostedZone(name: zone)
        let before = SharedAWS.requestLines(aws).filter { $0.contains("GET /2013-04-01/change/") }.count
        let result = try runFurrowProgram("""
            let z = dns.zone(wait: true)
            print(z.upsert("web", "A", ["10.0.0.1"]).action)
            print(z.sync([{name: "api", type: "A", values: ["10.0.0.2"]}], owner: "chitragupta").state)
            """, environment: SharedAWS.environment(aws, zone: zone))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "create\napplied\n")
        #expect(SharedAWS.requestLines(aws).filter { $0.contains("GET /2013-04-01/change/") }.count >= before + 2)
    }

    /// A sync killed between two Route53 batches leaves each name whole (records and ownership
    /// record together); running it again converges, and a third run has nothing to do.
    @Test func route53SyncKilledHalfWayConverges() throws {
        let aws = try SharedAWS.server()
        let zone = "killed-\(UUID().uuidString.prefix(8).lowercased()).test.furrow"
        let zoneId = try SharedAWS.route53().createHostedZone(name: zone).id
        let environment = SharedAWS.environment(aws, zone: zone)
        let program = """
            let desired = range(3000) | map i => {name: "svc${i}.env${i % 50}", type: "A", values: ["10.7.${i // 256}.${i % 256}"]}
            let p = dns.zone().sync(desired, owner: "chitragupta")
            print(len(p.creates), len(p.updates), len(p.deletes))
            """
        let batchesBefore = SharedAWS.requests(aws, matching: "/hostedzone/\(zoneId)/rrset", method: "POST")
        let running = try startFurrowProgram(program, environment: environment)
        let deadline = ContinuousClock.now + .seconds(60)
        while SharedAWS.requests(aws, matching: "/hostedzone/\(zoneId)/rrset", method: "POST") == batchesBefore && ContinuousClock.now < deadline {
            usleep(20_000)
        }
        kill(running.processIdentifier, SIGKILL)
        _ = running.wait()
        let records = try SharedAWS.route53().listResourceRecordSets(zoneId: zoneId)
        let data = records.filter { $0.type == "A" }.count
        let owned = records.filter { $0.type == "TXT" && $0.name.hasPrefix("_furrow-owner.") }.count
        #expect(data == owned, "each name lands with its ownership record")
        #expect(data < 3000, "the sync was stopped before it finished (\(data) names landed)")

        let again = try runFurrowProgram(program, environment: environment)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == "\(3000 - data) 0 0\n")
        let third = try runFurrowProgram(program, environment: environment)
        #expect(third.stdout == "0 0 0\n", "\(third.stderr)")
    }

    /// How many Route53 requests a sync of a 10,000-name zone sends when 5% of the names
    /// differ (the numbers are printed for the benchmark report).
    @Test func route53RequestCountForA10kZoneSync() throws {
        let aws = try SharedAWS.server()
        let zone = "big-\(UUID().uuidString.prefix(8).lowercased()).test.furrow"
        let zoneId = try SharedAWS.route53().createHostedZone(name: zone).id
        let environment = SharedAWS.environment(aws, zone: zone)
        let setup = try runFurrowProgram(DNSBenchmark.setup, environment: environment)
        #expect(setup.status == 0, "\(setup.stderr)")
        let before = SharedAWS.requestLines(aws)
        let sync = try runFurrowProgram(DNSBenchmark.sync, environment: environment)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout == "250 created, 250 updated, 250 deleted\n", "\(sync.stderr)")
        // Other tests share the server and run at the same time: only this zone's requests count.
        let lines = SharedAWS.requestLines(aws).dropFirst(before.count)
        let hostedZoneLookups = lines.filter { $0.contains("/hostedzonesbyname?") && $0.contains("dnsname=\(zone)") }.count
        let pages = lines.filter { $0.contains("GET /2013-04-01/hostedzone/\(zoneId)/rrset") }.count
        let batches = lines.filter { $0.contains("POST /2013-04-01/hostedzone/\(zoneId)/rrset") }.count
        let total = hostedZoneLookups + lines.filter { $0.contains("/hostedzone/\(zoneId)") }.count
        print("route53 requests for a 10,000-name sync differing in 5%: \(total) (\(hostedZoneLookups) zone lookup, \(pages) list pages, \(batches) change batches)")
        #expect(hostedZoneLookups == 1)
        #expect(pages == 67)  // 20,000 rrsets (records and ownership records) plus SOA and NS, 300 per page
        #expect(batches == 2)
    }
}

/// The Furrow programs of the 10,000-name benchmark: a zone where every name is owned, then a
/// desired set where 250 names changed value, 250 are gone and 250 are new.
enum DNSBenchmark {
    static let setup = """
        let desired = range(10000) | map i => {name: "svc${i}.env${i % 100}", type: "A", ttl: 10, values: ["10.${i // 65536}.${(i // 256) % 256}.${i % 256}"]}
        dns.zone().sync(desired, owner: "chitragupta")
        """
    static let sync = """
        var desired = []
        var added = 0
        for i in range(10000) {
          let name = "svc${i}.env${i % 100}"
          if i % 40 == 0 {
            desired.append({name: name, type: "A", ttl: 10, values: ["192.168.0.1"]})
          } else if i % 40 == 1 {
            desired.append({name: "new${added}", type: "A", ttl: 10, values: ["10.9.${added // 256}.${added % 256}"]})
            added += 1
          } else {
            desired.append({name: name, type: "A", ttl: 10, values: ["10.${i // 65536}.${(i // 256) % 256}.${i % 256}"]})
          }
        }
        let p = dns.zone().sync(desired, owner: "chitragupta")
        print("${len(p.creates)} created, ${len(p.updates)} updated, ${len(p.deletes)} deleted")
        """
}

/// One local AWS server for the whole run; each test makes its own hosted zone.
enum SharedAWS {
    nonisolated(unsafe) private static var started: Result<LocalAWSServer, Error>?
    private static let lock = NSLock()

    static func server() throws -> LocalAWSServer {
        lock.lock()
        defer { lock.unlock() }
        if started == nil { started = Result { try LocalAWSServer() } }
        return try started!.get()
    }

    static func route53() throws -> Route53Client {
        let aws = try server()
        return Route53Client(configuration: try AWSConfiguration.resolve(
            region: LocalAWSServer.region, endpoint: aws.endpoint,
            credentials: AWSCredentials(accessKeyId: LocalAWSServer.accessKeyId, secretAccessKey: LocalAWSServer.secretAccessKey)))
    }

    static func environment(_ aws: LocalAWSServer, zone: String) -> [String: String] {
        [
            "FURROW_DNS_PROVIDER": "route53", "FURROW_DNS_ZONE": zone, "FURROW_AWS_ENDPOINT": aws.endpoint.absoluteString,
            "FURROW_AWS_REGION": LocalAWSServer.region, "AWS_ACCESS_KEY_ID": LocalAWSServer.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": LocalAWSServer.secretAccessKey,
        ]
    }

    /// The request lines the server has logged so far.
    static func requestLines(_ aws: LocalAWSServer) -> [String] {
        let text = (try? String(contentsOfFile: aws.logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("\" ") && $0.contains(" HTTP/1.1\"") }.map(String.init)
    }

    static func requests(_ aws: LocalAWSServer, matching path: String, method: String) -> Int {
        requestLines(aws).filter { $0.contains("\(method) /2013-04-01\(path)") }.count
    }
}

enum Knot {
    /// The configuration that points Furrow at `knot`'s zone with its key.
    static func environment(_ knot: KnotServer) throws -> [String: String] {
        [
            "FURROW_DNS_PROVIDER": "rfc2136", "FURROW_DNS_ZONE": "test.furrow", "FURROW_DNS_SERVER": "127.0.0.1:\(knot.port)",
            "FURROW_DNS_TSIG_KEY": try keyFile(name: knot.key.name.description, secret: knot.secretBase64),
        ]
    }

    /// A BIND key file in a temporary directory.
    static func keyFile(name: String, secret: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-tsig-\(UUID().uuidString).key").path
        try "key \"\(name)\" {\n\talgorithm hmac-sha256;\n\tsecret \"\(secret)\";\n};\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
