import Foundation
import FurrowJSON
import OrderedCollections

/// A hosted zone: its bare id (`Z0123...`, without `/hostedzone/`) and its fully qualified name (trailing dot).
public struct Route53HostedZone: Sendable, Equatable {
    public let id: String
    public let name: String
    public let isPrivate: Bool
    public let recordSetCount: Int?
}

/// An alias record's target (a load balancer, a CloudFront distribution, another record in the zone).
public struct Route53AliasTarget: Sendable, Equatable, Hashable {
    public var hostedZoneId: String
    public var dnsName: String
    public var evaluateTargetHealth: Bool

    public init(hostedZoneId: String, dnsName: String, evaluateTargetHealth: Bool = false) {
        self.hostedZoneId = hostedZoneId
        self.dnsName = dnsName
        self.evaluateTargetHealth = evaluateTargetHealth
    }
}

/// A record set as Furrow's DNS layer sees it. `name` is fully qualified with a trailing dot, octal escapes that
/// Route53 uses in names (`\052` for `*`) decoded; `values` are the record data as Route53 writes them
/// (TXT values with their quotes).
public struct Route53RecordSet: Sendable, Equatable, Hashable {
    public var name: String
    public var type: String
    public var ttl: Int?
    public var values: [String]
    /// Set for weighted, latency, failover ... records; Furrow itself writes simple records only.
    public var setIdentifier: String?
    public var weight: Int?
    public var alias: Route53AliasTarget?

    public init(
        name: String, type: String, ttl: Int? = nil, values: [String] = [], setIdentifier: String? = nil,
        weight: Int? = nil, alias: Route53AliasTarget? = nil
    ) {
        self.name = Route53Client.fullyQualified(name)
        self.type = type.uppercased()
        self.ttl = ttl
        self.values = values
        self.setIdentifier = setIdentifier
        self.weight = weight
        self.alias = alias
    }

    /// `{name, type, ttl, values}` (plus `set_identifier`, `weight`, `alias` when present), for the interpreter.
    public var jsonValue: JSONValue {
        var members: OrderedDictionary<String, JSONValue> = [
            "name": .string(name), "type": .string(type), "ttl": ttl.map { .int(Int64($0)) } ?? .null,
            "values": .array(values.map { .string($0) }),
        ]
        if let setIdentifier { members["set_identifier"] = .string(setIdentifier) }
        if let weight { members["weight"] = .int(Int64(weight)) }
        if let alias {
            members["alias"] = [
                "hosted_zone_id": .string(alias.hostedZoneId), "dns_name": .string(alias.dnsName),
                "evaluate_target_health": .bool(alias.evaluateTargetHealth),
            ]
        }
        return .object(members)
    }
}

/// One change of a change batch.
public struct Route53Change: Sendable, Equatable {
    public enum Action: String, Sendable {
        case create = "CREATE"
        case delete = "DELETE"
        case upsert = "UPSERT"
    }
    public var action: Action
    public var recordSet: Route53RecordSet

    public init(_ action: Action, _ recordSet: Route53RecordSet) {
        self.action = action
        self.recordSet = recordSet
    }
}

/// Route53 over its REST/XML API (version 2013-04-01). Every call blocks and may be made from any thread.
public struct Route53Client: Sendable {
    public let http: AWSHTTPClient
    static let namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

    public init(http: AWSHTTPClient) { self.http = http }
    public init(configuration: AWSConfiguration) { self.init(http: AWSHTTPClient(configuration: configuration)) }

    /// The public or private zone named exactly `name` (trailing dot optional, case ignored), or nil.
    public func hostedZone(named name: String) throws -> Route53HostedZone? {
        let wanted = Self.fullyQualified(name).lowercased()
        let root = try request(
            "ListHostedZonesByName", "GET", "/2013-04-01/hostedzonesbyname",
            query: [("dnsname", wanted), ("maxitems", "100")])
        // Results are sorted by name, so an exact match, if any, comes first (possibly several: public and private).
        let zones = root.child("HostedZones")?.children.map(Self.zone) ?? []
        return zones.first { Self.fullyQualified($0.name).lowercased() == wanted }
    }

    /// Creates a public hosted zone. `callerReference` makes the request idempotent; by default it is unique.
    public func createHostedZone(name: String, callerReference: String = UUID().uuidString) throws -> Route53HostedZone
    {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CreateHostedZoneRequest xmlns="\(Self.namespace)"><Name>\(XMLNode.escape(Self.fullyQualified(name)))</Name>\
            <CallerReference>\(XMLNode.escape(callerReference))</CallerReference></CreateHostedZoneRequest>
            """
        let root = try request("CreateHostedZone", "POST", "/2013-04-01/hostedzone", body: body)
        guard let zone = root.child("HostedZone") else {
            throw malformed("CreateHostedZone", "no HostedZone in the response")
        }
        return Self.zone(zone)
    }

    /// Deletes an (empty but for SOA and NS) hosted zone.
    public func deleteHostedZone(id: String) throws {
        _ = try request("DeleteHostedZone", "DELETE", "/2013-04-01/hostedzone/\(Self.bareId(id))")
    }

    /// Every record set of the zone, following `NextRecordName`/`Type`/`Identifier` across pages.
    public func listResourceRecordSets(zoneId: String) throws -> [Route53RecordSet] {
        var records: [Route53RecordSet] = []
        var query: [(String, String)] = [("maxitems", "300")]
        while true {
            let root = try request(
                "ListResourceRecordSets", "GET", "/2013-04-01/hostedzone/\(Self.bareId(zoneId))/rrset", query: query)
            for node in root.child("ResourceRecordSets")?.children ?? [] { records.append(Self.recordSet(node)) }
            guard root.childText("IsTruncated") == "true", let next = root.childText("NextRecordName") else { break }
            query = [("maxitems", "300"), ("name", next)]
            if let type = root.childText("NextRecordType") { query.append(("type", type)) }
            if let identifier = root.childText("NextRecordIdentifier") { query.append(("identifier", identifier)) }
        }
        return records
    }

    /// Applies a change batch atomically and returns the change id (bare, for `getChange`).
    /// Route53 limits a batch to 1000 values and 32,000 characters of values; callers split larger syncs.
    public func changeResourceRecordSets(zoneId: String, changes: [Route53Change], comment: String? = nil) throws
        -> String
    {
        guard !changes.isEmpty else { throw invalidInput("ChangeResourceRecordSets", "the change batch is empty") }
        var xml =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeResourceRecordSetsRequest xmlns=\"\(Self.namespace)\"><ChangeBatch>"
        if let comment { xml += "<Comment>\(XMLNode.escape(comment))</Comment>" }
        xml += "<Changes>"
        for change in changes {
            xml += "<Change><Action>\(change.action.rawValue)</Action>\(Self.xml(change.recordSet))</Change>"
        }
        xml += "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"
        let root = try request(
            "ChangeResourceRecordSets", "POST", "/2013-04-01/hostedzone/\(Self.bareId(zoneId))/rrset", body: xml)
        guard let id = root.at("ChangeInfo", "Id")?.text else {
            throw malformed("ChangeResourceRecordSets", "no ChangeInfo/Id")
        }
        return Self.bareId(id)
    }

    /// The status of a change: `PENDING` or `INSYNC`.
    public func getChange(id: String) throws -> String {
        let root = try request("GetChange", "GET", "/2013-04-01/change/\(Self.bareId(id))")
        guard let status = root.at("ChangeInfo", "Status")?.text else {
            throw malformed("GetChange", "no ChangeInfo/Status")
        }
        return status
    }

    /// Polls `getChange` until the change is INSYNC; throws when `timeout` seconds pass first.
    public func waitForChange(id: String, timeout: Double = 300) throws {
        let deadline = ContinuousClock.now + .milliseconds(timeout > 0 ? Int64(min(timeout, 31_536_000) * 1000) : 0)
        var pause = 1.0
        while try getChange(id: id) != "INSYNC" {
            guard ContinuousClock.now < deadline else {
                throw AWSError(
                    kind: .service, service: "route53", operation: "GetChange",
                    message: "change \(id) is not INSYNC after \(Int(timeout)) seconds")
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 10)
        }
    }

    // MARK: XML in and out

    private func request(
        _ operation: String, _ method: String, _ path: String, query: [(String, String)] = [], body: String? = nil
    ) throws -> XMLNode {
        var request = AWSRequest(method: method, path: path, query: query)
        if let body {
            request.headers = [("Content-Type", "application/xml")]
            request.body = Array(body.utf8)
        }
        let response = try http.send(request, to: .route53, operation: operation)
        if response.body.isEmpty { return XMLNode(name: "") }
        do {
            return try XMLNode.parse(response.body)
        } catch {
            throw AWSError(
                kind: .transport, service: "route53", operation: operation, httpStatus: response.status,
                message: "the response is not XML (\(error)): \(AWSHTTPClient.snippet(response.body))")
        }
    }

    static func xml(_ record: Route53RecordSet) -> String {
        var xml =
            "<ResourceRecordSet><Name>\(XMLNode.escape(record.name))</Name><Type>\(XMLNode.escape(record.type))</Type>"
        if let identifier = record.setIdentifier {
            xml += "<SetIdentifier>\(XMLNode.escape(identifier))</SetIdentifier>"
        }
        if let weight = record.weight { xml += "<Weight>\(weight)</Weight>" }
        if let alias = record.alias {
            xml +=
                "<AliasTarget><HostedZoneId>\(XMLNode.escape(alias.hostedZoneId))</HostedZoneId>"
                + "<DNSName>\(XMLNode.escape(alias.dnsName))</DNSName>"
                + "<EvaluateTargetHealth>\(alias.evaluateTargetHealth)</EvaluateTargetHealth></AliasTarget>"
        } else {
            if let ttl = record.ttl { xml += "<TTL>\(ttl)</TTL>" }
            xml += "<ResourceRecords>"
            for value in record.values {
                xml += "<ResourceRecord><Value>\(XMLNode.escape(value))</Value></ResourceRecord>"
            }
            xml += "</ResourceRecords>"
        }
        return xml + "</ResourceRecordSet>"
    }

    static func recordSet(_ node: XMLNode) -> Route53RecordSet {
        var alias: Route53AliasTarget?
        if let target = node.child("AliasTarget") {
            alias = Route53AliasTarget(
                hostedZoneId: target.childText("HostedZoneId") ?? "", dnsName: target.childText("DNSName") ?? "",
                evaluateTargetHealth: target.childText("EvaluateTargetHealth") == "true")
        }
        return Route53RecordSet(
            name: decodeEscapes(node.childText("Name") ?? ""), type: node.childText("Type") ?? "",
            ttl: node.childText("TTL").flatMap { Int($0) },
            values: node.child("ResourceRecords")?.children.compactMap { $0.childText("Value") } ?? [],
            setIdentifier: node.childText("SetIdentifier"), weight: node.childText("Weight").flatMap { Int($0) },
            alias: alias)
    }

    static func zone(_ node: XMLNode) -> Route53HostedZone {
        Route53HostedZone(
            id: bareId(node.childText("Id") ?? ""), name: decodeEscapes(node.childText("Name") ?? ""),
            isPrivate: node.at("Config", "PrivateZone")?.text == "true",
            recordSetCount: node.childText("ResourceRecordSetCount").flatMap { Int($0) })
    }

    /// `/hostedzone/Z123` and `/change/C456` → `Z123`, `C456`.
    static func bareId(_ id: String) -> String {
        id.split(separator: "/").last.map(String.init) ?? id
    }

    /// `example.com` → `example.com.`
    public static func fullyQualified(_ name: String) -> String {
        name.hasSuffix(".") ? name : name + "."
    }

    /// Route53 writes characters outside `[a-z0-9-_.]` in names as `\ooo` octal escapes.
    static func decodeEscapes(_ name: String) -> String {
        guard name.contains("\\") else { return name }
        var bytes: [UInt8] = []
        let utf8 = Array(name.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
                let code = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(code)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func malformed(_ operation: String, _ message: String) -> AWSError {
        AWSError(kind: .transport, service: "route53", operation: operation, message: "unexpected response: \(message)")
    }

    private func invalidInput(_ operation: String, _ message: String) -> AWSError {
        AWSError(kind: .validation, service: "route53", operation: operation, message: message)
    }
}
