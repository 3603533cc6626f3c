import Foundation
import FurrowDNSWire
import FurrowHCL
import FurrowJSON
import FurrowLibrary
import FurrowRuntime

/// libFuzzer entry point over the format parsers scripts hand untrusted text or packets to.
/// The first byte chooses the parser (its value modulo the number of parsers), the rest is
/// the input, so one instrumented binary covers all of them and the fuzzer can carry a
/// finding of one parser over to another. Every parser must either accept its input or
/// throw; a trap, an overflow or a failed round trip is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFormats(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch FormatParser.allCases[Int(data[0]) % FormatParser.allCases.count] {
    case .json: fuzzJSON(input)
    case .hcl: fuzzHCL(input)
    case .toml: fuzzTOML(input)
    case .dnsWire: fuzzDNSWire(input)
    }
    return 0
}

/// The selector byte of a seed: `FormatParser.json.rawValue` is 0, and so on.
enum FormatParser: UInt8, CaseIterable {
    case json, hcl, toml, dnsWire
}

/// `json.decode` is `Format.fromJSON(JSONValue.parse(text))`. A decoded document must survive
/// encoding (compact and pretty) and the trip through script values unchanged.
func fuzzJSON(_ bytes: [UInt8]) {
    guard let value = try? JSONValue.parse(bytes: bytes) else { return }
    expectSame(value, reparsed(value.encoded()), "compact encoding", bytes)
    expectSame(value, reparsed(value.prettyEncoded()), "pretty encoding", bytes)
    let scriptValue = Format.fromJSON(value)
    _ = Format.repr(scriptValue)
    if let back = try? Format.toJSON(scriptValue) {
        expectSame(value, back, "script values", bytes)
    } else {
        fatalError("a decoded JSON document cannot be encoded again: \(escaped(bytes))")
    }
}

func reparsed(_ text: String) -> JSONValue? { try? JSONValue.parse(text) }

func expectSame(_ original: JSONValue, _ roundTripped: JSONValue?, _ via: String, _ input: [UInt8]) {
    guard let roundTripped else { fatalError("JSON through \(via) does not parse again: \(escaped(input))") }
    if original != roundTripped { fatalError("JSON through \(via) changes: \(original) became \(roundTripped)") }
}

/// `hcl.decode` is `Format.fromJSON(HCLFile.parse(text).jsonValue())`; the terraform readers
/// (tfvars, backend, variables, outputs) take the same parsed body.
func fuzzHCL(_ bytes: [UInt8]) {
    guard let body = try? HCLFile.parse(bytes: bytes, filename: "fuzz.tf") else { return }
    if let json = try? body.jsonValue() { _ = Format.repr(Format.fromJSON(json)) }
    _ = try? TerraformHCL.backend(in: body)
    _ = try? TerraformHCL.variables(in: body)
    _ = try? TerraformHCL.outputs(in: body)
    if let text = String(validating: bytes, as: UTF8.self) { _ = try? TerraformHCL.decodeTFVars(text) }
}

/// The configuration file goes through `Configuration.load`, the one public way in: it reads a
/// file, so the input is written to a scratch file first. The environment is passed in
/// explicitly so no `FURROW_*` variable of the fuzzing shell takes part.
func fuzzTOML(_ bytes: [UInt8]) {
    let path = scratchDirectory + "/furrow.toml"
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        fatalError("cannot write the fuzz input to \(path)")
    }
    guard let configuration = try? Configuration.load(environment: ["FURROW_CONFIG": path]) else { return }
    _ = Format.repr(configuration.value)
    _ = configuration.section("jobs")
    _ = configuration.string("state", "path")
}

/// A DNS message from the network. What decodes must print in presentation form, and a
/// message that encodes again must decode again.
func fuzzDNSWire(_ bytes: [UInt8]) {
    guard let message = try? DNSMessage.decode(bytes) else { return }
    for record in message.answers + message.authorities + message.additionals {
        _ = record.description
        _ = try? DNSRData(type: record.type, text: record.data.presentation)
    }
    for question in message.questions { _ = question.name.description }
    guard let encoded = try? message.encoded() else { return }
    do {
        _ = try DNSMessage.decode(encoded)
    } catch {
        fatalError("a decoded DNS message, encoded again, does not decode: \(error); input \(escaped(bytes))")
    }
}

/// A private directory for the files a parser can only be reached through.
let scratchDirectory: String = {
    var template = Array((NSTemporaryDirectory() + "/furrow-fuzz-XXXXXX").utf8CString)
    guard let path = mkdtemp(&template) else { fatalError("cannot create a scratch directory") }
    return String(cString: path)
}()

/// The input as a Swift string literal body, for messages.
func escaped(_ bytes: [UInt8]) -> String {
    bytes.map { b in
        switch b {
        case 0x20..<0x7F where b != 0x22 && b != 0x5C: String(UnicodeScalar(b))
        default: String(format: "\\x%02x", b)
        }
    }.joined()
}
