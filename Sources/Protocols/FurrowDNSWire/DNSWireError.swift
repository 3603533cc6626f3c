/// Everything that can go wrong below the provider layer: bad input, bad bytes, the network,
/// the server's answer and TSIG. Messages name the server and zone when they are known, and
/// never contain key material.
public enum DNSWireError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidRecordType(String)
    case invalidRData(type: String, text: String, reason: String)
    case malformedMessage(String)
    case invalidKeyFile(String)
    case messageTooLarge(Int)
    /// The server answered with a non-success response code.
    case responseCode(DNSResponseCode, server: String, context: String)
    /// TSIG failed: the server rejected our signature (BADSIG, BADKEY, BADTIME) or its answer
    /// carried a signature we could not verify.
    case tsig(TSIGFailure, server: String, context: String)
    case timeout(server: String, seconds: Double, attempts: Int)
    case network(server: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let reason): return "invalid DNS name: \(reason)"
        case .invalidRecordType(let text): return "unknown DNS record type '\(text)'"
        case .invalidRData(let type, let text, let reason): return "invalid \(type) value '\(text)': \(reason)"
        case .malformedMessage(let reason): return "malformed DNS message: \(reason)"
        case .invalidKeyFile(let reason): return "invalid TSIG key file: \(reason)"
        case .messageTooLarge(let size): return "DNS message of \(size) octets exceeds 65535"
        case .responseCode(let code, let server, let context):
            return "\(context) at \(server) failed with \(code): \(code.meaning)"
        case .tsig(let failure, let server, let context):
            return "\(context) at \(server): TSIG \(failure)"
        case .timeout(let server, let seconds, let attempts):
            return "no answer from DNS server \(server) after \(attempts) attempt(s) of \(formatSeconds(seconds))s"
        case .network(let server, let reason):
            return "cannot talk to DNS server \(server): \(reason)"
        }
    }
}

/// Why a TSIG exchange failed.
public enum TSIGFailure: Sendable, Equatable, CustomStringConvertible {
    /// The server could not verify our MAC: the secret differs from the server's.
    case badSignature
    /// The server does not know the key name or algorithm.
    case badKey
    /// The signing time is outside the allowed fudge: clocks differ.
    case badTime
    case badTruncation
    case otherError(UInt16)
    /// The response was not signed although the request was.
    case unsignedResponse
    /// The response's MAC did not verify with our key.
    case responseSignatureMismatch
    /// The response was signed by a different key or algorithm.
    case responseKeyMismatch

    public var description: String {
        switch self {
        case .badSignature: "BADSIG: the server rejected the request signature (wrong secret?)"
        case .badKey: "BADKEY: the server does not know this key name or algorithm"
        case .badTime: "BADTIME: the signing time is outside the allowed window (check clocks)"
        case .badTruncation: "BADTRUNC: the server rejected a truncated MAC"
        case .otherError(let code): "error \(code) reported by the server"
        case .unsignedResponse: "the response was not signed"
        case .responseSignatureMismatch: "the response signature does not verify with our key"
        case .responseKeyMismatch: "the response was signed with a different key"
        }
    }

    init(code: UInt16) {
        switch code {
        case 16: self = .badSignature
        case 17: self = .badKey
        case 18: self = .badTime
        case 22: self = .badTruncation
        default: self = .otherError(code)
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
