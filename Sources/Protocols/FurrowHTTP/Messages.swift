import FurrowJSON
import X509

/// The verified identity of a client: the subject of the certificate it presented, which
/// chained to the configured client CA during the TLS handshake.
public struct ClientIdentity: Sendable, Equatable {
    /// The subject as an RFC 4514 string (`CN=ci-tyk,O=Example`).
    public let subject: String
    public let commonName: String?
    /// DNS names, URIs, e-mail addresses and IP addresses of the subject alternative name extension.
    public let alternativeNames: [String]

    public init(subject: String, commonName: String?, alternativeNames: [String]) {
        self.subject = subject
        self.commonName = commonName
        self.alternativeNames = alternativeNames
    }

    /// Every name the client may be configured under: its common name, then its SANs.
    public var names: [String] { (commonName.map { [$0] } ?? []) + alternativeNames }

    /// Reads the identity from a DER certificate (the handshake has already verified it).
    public init(derEncoded bytes: [UInt8]) throws {
        let certificate = try Certificate(derEncoded: bytes)
        var commonName: String?
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                commonName = String(attribute.value) ?? attribute.value.description
            }
        }
        var names: [String] = []
        for name in try certificate.extensions.subjectAlternativeNames.map(Array.init) ?? [] {
            switch name {
            case .dnsName(let s), .rfc822Name(let s), .uniformResourceIdentifier(let s): names.append(s)
            case .ipAddress(let octets):
                let bytes = Array(octets.bytes)
                if bytes.count == 4 {
                    names.append(bytes.map(String.init).joined(separator: "."))
                } else {
                    names.append(stride(from: 0, to: bytes.count, by: 2).map { format2(bytes[$0], bytes[$0 + 1]) }.joined(separator: ":"))
                }
            default: break
            }
        }
        self.init(subject: certificate.subject.description, commonName: commonName, alternativeNames: names)
    }
}

private func format2(_ high: UInt8, _ low: UInt8) -> String { String(UInt16(high) << 8 | UInt16(low), radix: 16) }

/// One request, read completely (the body is bounded by the server's limit).
public struct HTTPServerRequest: Sendable {
    /// Unique per process: names the request in logs and in 500 responses.
    public let id: String
    public let method: String
    /// The path without its query, percent-decoded.
    public let path: String
    public let query: [(name: String, value: String)]
    /// Header names in lower case, in the order received.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// nil without TLS.
    public let client: ClientIdentity?

    public init(
        id: String, method: String, path: String, query: [(name: String, value: String)], headers: [(name: String, value: String)],
        body: [UInt8], client: ClientIdentity?
    ) {
        self.id = id
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.client = client
    }

    /// Splits a request target (`/a%20b?x=1&y`) into its decoded path and query pairs.
    public static func splitTarget(_ target: String) -> (path: String, query: [(name: String, value: String)]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = percentDecoded(String(parts.first ?? "")) ?? String(parts.first ?? "")
        var query: [(name: String, value: String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") where !pair.isEmpty {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(kv[0]).replacingOccurrences(of: "+", with: " ")
                let value = kv.count == 2 ? String(kv[1]).replacingOccurrences(of: "+", with: " ") : ""
                query.append((percentDecoded(name) ?? name, percentDecoded(value) ?? value))
            }
        }
        return (path, query)
    }

    static func percentDecoded(_ s: String) -> String? {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        var utf8 = Array(s.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// What a handler answers.
public struct HTTPServerResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ value: JSONValue, headers: [(name: String, value: String)] = []) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("content-type", "application/json")] + headers, body: Array((value.encoded() + "\n").utf8))
    }

    /// A JSON error body: `{"error": message, "request_id": id}`.
    public static func error(_ status: Int, _ message: String, requestID: String, headers: [(name: String, value: String)] = []) -> HTTPServerResponse {
        json(status, .object(["error": .string(message), "request_id": .string(requestID)]), headers: headers)
    }
}
