import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a run log could not be written.
struct RunLogFailure: Error {
    let message: String
}

/// The log file of one terraform run: a header naming the run, terraform's output as it
/// arrived, and a footer with how it ended. One file per run, so parallel runs never
/// interleave and an operator can read one environment's apply on its own.
final class RunLog {
    let path: String
    private let fd: Int32

    init(directory: String, workspace: String?, command: String) throws(RunLogFailure) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RunLogFailure(message: "cannot create \(directory): \(error.localizedDescription)")
        }
        let name = [RunLog.timestamp(compact: true), workspace ?? "_", command, RunLog.randomSuffix()]
            .map(RunLog.fileNameSafe).joined(separator: "-")
        path = directory + "/" + name + ".log"
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw RunLogFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    func header(command: String, directory: String, workspace: String?) {
        write(text: "# \(RunLog.timestamp(compact: false)) \(command)\n# directory: \(directory)\n# workspace: \(workspace ?? "-")\n")
    }

    func footer(_ summary: String) {
        write(text: "# \(RunLog.timestamp(compact: false)) \(summary)\n")
    }

    func write(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = writeToDescriptor(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }  // a full disk must not fail the terraform run itself
                offset += written
            }
        }
    }

    private func write(text: String) { write(Array(text.utf8)[...]) }

    /// UTC time, `20260122-031500.123` for file names or `2026-01-22T03:15:00.123Z` for lines.
    static func timestamp(compact: Bool) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = now.tv_nsec / 1_000_000
        let date = compact
            ? String(format: "%04d%02d%02d-%02d%02d%02d.%03d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                     parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(millis))
            : String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                     parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(millis))
        return date
    }

    static func randomSuffix() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    static func fileNameSafe(_ part: String) -> String {
        String(part.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" ? $0 : "_" })
    }
}

/// `write(2)`, named apart from `RunLog.write`.
private func writeToDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
