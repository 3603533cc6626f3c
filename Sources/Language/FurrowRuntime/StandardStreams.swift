import Foundation

/// Standard error written with plain `write(2)`: a full or closed stderr loses the text
/// but never stops the script (Foundation's file handles trap on a failed write).
public enum StandardError {
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Foundation.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
        bytes.removeAll()
    }
}

/// Whole files read with POSIX calls, so that devices and pipes (`/dev/null`,
/// `/dev/stdin`) read like files and a directory is reported as one.
public enum FileContents {
    /// The bytes of `path`, or the reason it cannot be read (`is a directory`, `no such file`).
    public static func read(_ path: String) -> Result<[UInt8], FileReadError> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(FileReadError(errno)) }
        defer { close(fd) }
        return read(descriptor: fd)
    }

    /// Everything left on an open descriptor (standard input, say).
    public static func read(descriptor fd: Int32) -> Result<[UInt8], FileReadError> {
        var status = stat()
        if fstat(fd, &status) != 0 { return .failure(FileReadError(errno)) }
        if status.st_mode & S_IFMT == S_IFDIR { return .failure(FileReadError(EISDIR)) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return .failure(FileReadError(errno)) }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}

public struct FileReadError: Error, CustomStringConvertible {
    public let code: Int32
    init(_ code: Int32) { self.code = code }
    /// The system's reason in lower case: "no such file or directory", "is a directory".
    public var description: String { String(cString: strerror(code)).lowercased() }
}
