import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which of a child's output streams a chunk of bytes came from.
public enum OutputChannel: Sendable {
    case stdout
    case stderr
}

/// How a child process ended.
public enum ProcessTermination: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
}

/// What the caller of a run wants done with the child now, asked again and again while it
/// runs (the interpreter's interrupt, as seen by the waiting fiber).
public enum StopRequest: Sendable {
    case none
    /// SIGINT to the child's process group, once; SIGKILL if it is still there after the grace.
    case interrupt
    /// SIGKILL to the child's process group at once.
    case kill
}

/// Everything one child process run produced.
public struct ProcessOutcome: Sendable {
    public var termination: ProcessTermination
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// The run outlived its timeout and was stopped (and killed if it ignored that).
    public var timedOut: Bool
    /// The run was interrupted (through `signalAll` or a stop request).
    public var interrupted: Bool
    public var duration: Duration
}

/// Why a child process could not be started.
public struct SpawnFailure: Error, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
}

/// One child process to run: a program and its argv (never through a shell).
public struct ChildProcessRequest: Sendable {
    /// An absolute path (see `ChildProcessRunner.resolveExecutable`).
    public var executable: String
    public var arguments: [String]
    /// The complete environment of the child.
    public var environment: [String: String]
    /// The working directory of the child; nil keeps ours.
    public var directory: String?
    /// Written to the child's standard input, which is /dev/null when this is nil.
    public var input: [UInt8]?
    public var timeout: Duration?
    /// The signal a timeout sends to the group first (terraform: SIGINT, to save its state).
    public var timeoutSignal: Int32
    /// How long a stopped child may take to exit before its group gets SIGKILL.
    public var interruptGrace: Duration

    public init(executable: String, arguments: [String], environment: [String: String], directory: String? = nil,
                input: [UInt8]? = nil, timeout: Duration? = nil, timeoutSignal: Int32 = SIGTERM,
                interruptGrace: Duration = .seconds(2)) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
        self.input = input
        self.timeout = timeout
        self.timeoutSignal = timeoutSignal
        self.interruptGrace = interruptGrace
    }

    /// Arguments and environment that C strings cannot carry, said instead of truncated.
    func validate() throws(SpawnFailure) {
        for (index, argument) in ([executable] + arguments).enumerated() where argument.utf8.contains(0) {
            throw SpawnFailure(message: "argument \(index) contains a NUL byte, which a program's arguments cannot carry")
        }
        for (key, value) in environment {
            if key.isEmpty { throw SpawnFailure(message: "an environment variable name is empty") }
            if key.contains("=") { throw SpawnFailure(message: "environment variable name '\(key)' contains '='") }
            if key.utf8.contains(0) || value.utf8.contains(0) {
                throw SpawnFailure(message: "environment variable '\(key.replacingOccurrences(of: "\0", with: "\\0"))' contains a NUL byte")
            }
        }
        if let directory, directory.utf8.contains(0) { throw SpawnFailure(message: "the working directory contains a NUL byte") }
    }
}

/// Runs child processes from argv lists (never through a shell); the one runner of the
/// process, for `os.exec` and terraform alike.
///
/// Each run is driven by the calling thread alone: one `poll` loop feeds stdin, drains
/// stdout and stderr (so large input or output never deadlocks), enforces the timeout,
/// follows stop requests, and reaps the child. Children start in their own process group,
/// so a timeout, an interrupt or a kill reaches the helpers they start (a provisioner's
/// shell, `sh -c`'s children), and every descriptor Furrow opens is close-on-exec, so
/// concurrent runs never inherit each other's pipes. SIGPIPE is ignored in this process
/// (a child that exits before reading all its input gives EPIPE, not our death) and set
/// back to its default in children.
public final class ChildProcessRunner: @unchecked Sendable {
    /// Process groups of children still running, of every runner, with the runner that
    /// started each; guarded by `lock`, which is also held while a child is reaped so that a
    /// signal never reaches a recycled process id.
    nonisolated(unsafe) private static var runningGroups: [pid_t: ObjectIdentifier] = [:]
    /// Running groups `signalAll` has signalled, so their runs can say they were interrupted.
    nonisolated(unsafe) private static var signalledGroups: Set<pid_t> = []
    private static let lock = NSLock()
    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29 and later), which Swift's Glibc
    /// module does not declare.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN); return () }()

    public init() {}

    /// Sends `signal` to every child process group this runner still has running.
    public func signalAll(_ signal: Int32) {
        let me = ObjectIdentifier(self)
        Self.lock.lock()
        defer { Self.lock.unlock() }
        for (group, owner) in Self.runningGroups where owner == me {
            kill(-group, signal)
            Self.signalledGroups.insert(group)
        }
    }

    /// Sends `signal` to the process group of every child any runner still has running
    /// (a forced stop of the whole process: SIGKILL before exiting).
    public static func signalEveryGroup(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        for group in runningGroups.keys {
            kill(-group, signal)
            signalledGroups.insert(group)
        }
    }

    /// The absolute path of `name`: itself when it has a slash, else the first executable
    /// regular file of that name on `path`.
    public static func resolveExecutable(_ name: String, path: String?) -> String? {
        if name.contains("/") {
            let absolute = absolutePath(name)
            return access(absolute, X_OK) == 0 ? absolute : nil
        }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return absolutePath(candidate)
            }
        }
        return nil
    }

    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Runs `request`, feeding every chunk of output to `sink` as it arrives and asking
    /// `stop` (at least every 100 ms) whether to interrupt or kill the child.
    public func run(
        _ request: ChildProcessRequest,
        stop: () -> StopRequest = { .none },
        sink: (OutputChannel, ArraySlice<UInt8>) -> Void = { _, _ in }
    ) throws(SpawnFailure) -> ProcessOutcome {
        _ = Self.ignoreBrokenPipes
        try request.validate()
        let clock = ContinuousClock()
        let started = clock.now

        let (stdoutRead, stdoutWrite) = try makePipe()
        let (stderrRead, stderrWrite) = try makePipe()
        var stdinPipe: (read: Int32, write: Int32)?
        if request.input != nil {
            do { stdinPipe = try makePipe() } catch {
                for fd in [stdoutRead, stdoutWrite, stderrRead, stderrWrite] { close(fd) }
                throw error
            }
        }
        var pid: pid_t = 0
        do {
            pid = try spawn(request, stdinRead: stdinPipe?.read, stdoutWrite: stdoutWrite, stderrWrite: stderrWrite)
        } catch {
            for fd in [stdoutRead, stdoutWrite, stderrRead, stderrWrite, stdinPipe?.read, stdinPipe?.write].compactMap({ $0 }) { close(fd) }
            throw error
        }
        close(stdoutWrite)
        close(stderrWrite)
        var inputFD: Int32 = -1
        var inputOffset = 0
        let input = request.input ?? []
        if let stdinPipe {
            close(stdinPipe.read)
            inputFD = stdinPipe.write
            _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK)
            if input.isEmpty { close(inputFD); inputFD = -1 }
        }

        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var openDescriptors: [(fd: Int32, stream: OutputChannel)] = [(stdoutRead, .stdout), (stderrRead, .stderr)]
        var termination: ProcessTermination?
        var reapedAt: ContinuousClock.Instant?
        var timeoutAt: ContinuousClock.Instant? = request.timeout.map { started + $0 }
        var killAt: ContinuousClock.Instant?
        var timedOut = false
        var interrupted = false
        var killed = false
        var buffer = [UInt8](repeating: 0, count: 65536)

        // A helper the child left running may hold the pipes open after the child exits;
        // read for this long after reaping, then stop.
        let drainAfterExit = Duration.seconds(2)

        while true {
            let now = clock.now
            if termination == nil {
                switch stop() {
                case .none: break
                case .interrupt where !interrupted:
                    interrupted = true
                    killAt = min(killAt ?? now + request.interruptGrace, now + request.interruptGrace)
                    signalGroup(pid, SIGINT)
                case .interrupt: break
                case .kill:
                    interrupted = true
                    if !killed { killed = true; signalGroup(pid, SIGKILL) }
                }
            }
            if let deadline = timeoutAt, now >= deadline, termination == nil {
                timedOut = true
                timeoutAt = nil
                killAt = min(killAt ?? now + request.interruptGrace, now + request.interruptGrace)
                signalGroup(pid, request.timeoutSignal)
            }
            if let deadline = killAt, now >= deadline, termination == nil {
                killAt = nil
                killed = true
                signalGroup(pid, SIGKILL)
            }
            if termination == nil, let ended = reapIfExited(pid) {
                termination = ended
                reapedAt = now
                if inputFD >= 0 { close(inputFD); inputFD = -1 }
            }
            if openDescriptors.isEmpty, termination != nil { break }
            if let reaped = reapedAt, now - reaped > drainAfterExit { break }

            // Sleep in poll until output arrives, input can be written or the next deadline
            // comes due; while the child has not been reaped, look at it every 100 ms.
            var waitLimit = Duration.milliseconds(100)
            for deadline in [timeoutAt, killAt].compactMap({ $0 }) {
                waitLimit = min(waitLimit, max(.zero, deadline - now))
            }
            let waitMilliseconds = Int32(waitLimit.components.seconds * 1000
                + waitLimit.components.attoseconds / 1_000_000_000_000_000)
            if openDescriptors.isEmpty && inputFD < 0 {
                usleep(useconds_t(max(1, min(waitMilliseconds, 10)) * 1000))
                continue
            }
            var pollSet = openDescriptors.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if inputFD >= 0 { pollSet.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&pollSet, nfds_t(pollSet.count), max(1, waitMilliseconds))
            if ready <= 0 { continue }
            if inputFD >= 0, pollSet[openDescriptors.count].revents != 0 {
                let written = input.withUnsafeBytes { bytes in
                    write(inputFD, bytes.baseAddress! + inputOffset, min(bytes.count - inputOffset, 65536))
                }
                if written > 0 { inputOffset += written }
                // EPIPE: the child stopped reading (it exited, or closed its input); the rest is dropped.
                if inputOffset >= input.count || (written < 0 && errno != EAGAIN && errno != EINTR) {
                    close(inputFD)
                    inputFD = -1
                }
            }
            var stillOpen: [(fd: Int32, stream: OutputChannel)] = []
            for (index, entry) in openDescriptors.enumerated() {
                guard pollSet[index].revents != 0 else {
                    stillOpen.append(entry)
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    let chunk = buffer[0..<count]
                    if entry.stream == .stdout { stdout.append(contentsOf: chunk) } else { stderr.append(contentsOf: chunk) }
                    sink(entry.stream, chunk)
                    stillOpen.append(entry)
                } else if count < 0 && (errno == EINTR || errno == EAGAIN) {
                    stillOpen.append(entry)
                } else {
                    close(entry.fd)
                }
            }
            openDescriptors = stillOpen
        }
        for entry in openDescriptors { close(entry.fd) }
        if inputFD >= 0 { close(inputFD) }
        Self.lock.lock()
        if Self.signalledGroups.remove(pid) != nil { interrupted = true }
        Self.lock.unlock()
        return ProcessOutcome(termination: termination ?? .signaled(SIGKILL), stdout: stdout, stderr: stderr,
                              timedOut: timedOut, interrupted: interrupted, duration: clock.now - started)
    }

    /// Signals the group of `pid` while it is still ours (after reaping, the id may be reused).
    private func signalGroup(_ pid: pid_t, _ signal: Int32) {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if Self.runningGroups[pid] != nil { kill(-pid, signal) }
    }

    /// Reaps the child if it has ended; the registry lock makes reaping and forgetting
    /// the group one step.
    private func reapIfExited(_ pid: pid_t) -> ProcessTermination? {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 || (result < 0 && errno == EINTR) { return nil }
        Self.runningGroups[pid] = nil
        // ECHILD: something else in the host process reaped it and its status is lost;
        // report it as killed rather than pretend it succeeded.
        if result < 0 { return .signaled(SIGKILL) }
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }

    private func makePipe() throws(SpawnFailure) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        // Under the spawn lock, so no child of this runner starts between pipe() and
        // the close-on-exec flags and inherits the other end.
        Self.lock.lock()
        defer { Self.lock.unlock() }
        guard pipe(&fds) == 0 else {
            throw SpawnFailure(message: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    private func spawn(
        _ request: ChildProcessRequest, stdinRead: Int32?, stdoutWrite: Int32, stderrWrite: Int32
    ) throws(SpawnFailure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinRead {
            posix_spawn_file_actions_adddup2(&actions, stdinRead, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdoutWrite, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrWrite, 2)
        if let directory = request.directory {
            var info = stat()
            guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw SpawnFailure(message: "cannot run \(request.executable) in '\(directory)': not a directory")
            }
            guard let addChdir = Self.addChdir, addChdir(&actions, directory) == 0 else {
                throw SpawnFailure(message: "cannot run \(request.executable) in '\(directory)': this C library cannot start a child in another directory")
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group; default signal dispositions and an empty mask, whatever
        // the host process ignores or blocks.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([request.executable] + request.arguments).map { strdup($0) } + [nil]
        let envp = request.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }

        var pid: pid_t = 0
        // Hold the registry lock across the spawn so the group is known before any
        // signalAll can look for it.
        Self.lock.lock()
        let result = posix_spawn(&pid, request.executable, &actions, &attributes, argv, envp)
        if result == 0 { Self.runningGroups[pid] = ObjectIdentifier(self) }
        Self.lock.unlock()
        guard result == 0 else {
            throw SpawnFailure(message: "cannot start \(request.executable): \(String(cString: strerror(result)))")
        }
        return pid
    }
}
