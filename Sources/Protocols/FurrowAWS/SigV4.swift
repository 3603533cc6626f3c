import Crypto
import Foundation

/// AWS Signature Version 4 in the `Authorization` header (AWS General Reference, "Signing AWS API requests").
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    /// The signing name of the service: `dynamodb`, `route53`, `ecr`.
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Everything one signature is made of; tests compare each step with AWS's published vectors.
    public struct Signature: Sendable {
        public let canonicalRequest: String
        public let stringToSign: String
        public let signature: String
        /// The value of the `Authorization` header.
        public let authorization: String
        /// Headers to add to the request: `X-Amz-Date`, `Authorization` and, with a session token, `X-Amz-Security-Token`.
        public let headersToAdd: [(name: String, value: String)]
    }

    /// Signs a request. `path` is the URI path as sent (already percent-encoded), `query` the decoded
    /// name/value pairs, `headers` every header to sign except `host`, `x-amz-date` and the token, which
    /// this adds (`host` is `host` or `host:port`, as the HTTP client sends it).
    public func sign(
        method: String, host: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8] = [], date: Date = Date()
    ) -> Signature {
        let (amzDate, day) = Self.timestamps(date)
        var signed: [(String, String)] = [("host", host), ("x-amz-date", amzDate)]
        if let token = credentials.sessionToken { signed.append(("x-amz-security-token", token)) }
        signed.append(contentsOf: headers)

        // Header names lower-cased and sorted; repeated names joined with commas; values trimmed with inner runs of
        // spaces collapsed.
        var canonicalHeaders: [String: [String]] = [:]
        for (name, value) in signed {
            let collapsed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            canonicalHeaders[name.lowercased(), default: []].append(collapsed.trimmingCharacters(in: .whitespaces))
        }
        let sortedNames = canonicalHeaders.keys.sorted()
        let headerBlock = sortedNames.map { "\($0):\(canonicalHeaders[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = sortedNames.joined(separator: ";")

        let encodedQuery: [(name: String, value: String)] = query.map { (Self.uriEncode($0.0), Self.uriEncode($0.1)) }
        let sortedQuery = encodedQuery.sorted { a, b in a.name != b.name ? a.name < b.name : a.value < b.value }
        let canonicalQuery = sortedQuery.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        // Services other than S3 encode each path segment a second time.
        let canonicalPath =
            path.isEmpty
            ? "/"
            : path.split(separator: "/", omittingEmptySubsequences: false).map { Self.uriEncode(String($0)) }
                .joined(separator: "/")

        let canonicalRequest = [
            method.uppercased(), canonicalPath, canonicalQuery, headerBlock, signedHeaders, Self.hexSHA256(body),
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hexSHA256(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")

        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"

        var add: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        if let token = credentials.sessionToken { add.append(("X-Amz-Security-Token", token)) }
        add.append(("Authorization", authorization))
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            authorization: authorization, headersToAdd: add)
    }

    /// `20150830T123600Z` and `20150830`, in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ n: Int?, _ width: Int) -> String {
            let s = String(n ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let day = pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2)
        return (day + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z", day)
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 requires.
    public static func uriEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static func hexSHA256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
