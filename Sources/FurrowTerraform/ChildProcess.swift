import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which of a child's output streams a chunk of bytes came from.
enum OutputChannel: Sendable {
    case stdout
    case stderr
}

/// How a child process ended.
enum ProcessTermination: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
}

/// Everything one child process run produced.
struct ProcessOutcome: Sendable {
    var termination: ProcessTermination
    var stdout: [UInt8]
    var stderr: [UInt8]
    /// The run outlived its timeout and was interrupted (and killed if it ignored that).
    var timedOut: Bool
    /// The run was interrupted through `signalAll`.
    var interrupted: Bool
    var duration: Duration
}

/// Why a child process could not be started.
struct SpawnFailure: Error, Sendable {
    let message: String
}

/// Runs child processes from argv lists (never through a shell).
///
/// Each run is driven by the calling thread alone: one `poll` loop drains stdout and
/// stderr (so large output never deadlocks), enforces the timeout, and reaps the child.
/// Children start in their own process group with stdin on /dev/null, so an
/// interrupt or kill reaches the helpers they start (e.g. a provisioner's shell), and
/// every descriptor Furrow opens is close-on-exec, so concurrent runs never inherit
/// each other's pipes.
final class ChildProcessRunner: @unchecked Sendable {
    /// Process groups of children still running; guarded by `lock`, which is also held
    /// while a child is reaped so that a signal never reaches a recycled process id.
    private var runningGroups: Set<pid_t> = []
    /// Running groups `signalAll` has signalled, so their runs can say they were interrupted.
    private var signalledGroups: Set<pid_t> = []
    private let lock = NSLock()

    /// Sends `signal` to every child process group this runner still has running.
    func signalAll(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        for group in runningGroups { kill(-group, signal) }
        signalledGroups.formUnion(runningGroups)
    }

    /// Runs `executable` (an absolute path) with `arguments` and `environment` (the
    /// complete environment of the child), feeding every chunk of output to `sink` as it
    /// arrives. After `timeout` the child's group gets SIGINT, and SIGKILL once
    /// `interruptGrace` has passed as well.
    func run(
        executable: String,
        arguments: [String],
        environment: [String: String],
        timeout: Duration?,
        interruptGrace: Duration,
        sink: (OutputChannel, ArraySlice<UInt8>) -> Void
    ) throws(SpawnFailure) -> ProcessOutcome {
        let clock = ContinuousClock()
        let started = clock.now

        let (stdoutRead, stdoutWrite) = try makePipe()
        let (stderrRead, stderrWrite) = try makePipe()
        var pid: pid_t = 0
        do {
            pid = try spawn(executable: executable, arguments: arguments, environment: environment,
                            stdoutWrite: stdoutWrite, stderrWrite: stderrWrite)
        } catch {
            for fd in [stdoutRead, stdoutWrite, stderrRead, stderrWrite] { close(fd) }
            throw error
        }
        close(stdoutWrite)
        close(stderrWrite)

        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var openDescriptors: [(fd: Int32, stream: OutputChannel)] = [(stdoutRead, .stdout), (stderrRead, .stderr)]
        var termination: ProcessTermination?
        var reapedAt: ContinuousClock.Instant?
        var interruptAt: ContinuousClock.Instant? = timeout.map { started + $0 }
        var killAt: ContinuousClock.Instant?
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)

        // A helper the child left running may hold the pipes open after the child exits;
        // read for this long after reaping, then stop.
        let drainAfterExit = Duration.seconds(2)

        while true {
            let now = clock.now
            if let deadline = interruptAt, now >= deadline, termination == nil {
                timedOut = true
                interruptAt = nil
                killAt = now + interruptGrace
                signalGroup(pid, SIGINT)
            }
            if let deadline = killAt, now >= deadline, termination == nil {
                killAt = nil
                signalGroup(pid, SIGKILL)
            }
            if termination == nil, let ended = reapIfExited(pid) {
                termination = ended
                reapedAt = now
            }
            if openDescriptors.isEmpty, termination != nil { break }
            if let reaped = reapedAt, now - reaped > drainAfterExit { break }

            // Sleep in poll until output arrives or the next deadline comes due; while
            // the child has not been reaped, look at it at least every 100 ms.
            var waitLimit = Duration.milliseconds(100)
            for deadline in [interruptAt, killAt].compactMap({ $0 }) {
                waitLimit = min(waitLimit, max(.zero, deadline - now))
            }
            let waitMilliseconds = Int32(waitLimit.components.seconds * 1000
                + waitLimit.components.attoseconds / 1_000_000_000_000_000)
            if openDescriptors.isEmpty {
                usleep(useconds_t(max(1, min(waitMilliseconds, 10)) * 1000))
                continue
            }
            var pollSet = openDescriptors.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&pollSet, nfds_t(pollSet.count), max(1, waitMilliseconds))
            if ready <= 0 { continue }
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
        lock.lock()
        let interrupted = signalledGroups.remove(pid) != nil
        lock.unlock()
        return ProcessOutcome(termination: termination ?? .signaled(SIGKILL), stdout: stdout, stderr: stderr,
                              timedOut: timedOut, interrupted: interrupted, duration: clock.now - started)
    }

    private func signalGroup(_ pid: pid_t, _ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if runningGroups.contains(pid) { kill(-pid, signal) }
    }

    /// Reaps the child if it has ended; the registry lock makes reaping and forgetting
    /// the group one step.
    private func reapIfExited(_ pid: pid_t) -> ProcessTermination? {
        lock.lock()
        defer { lock.unlock() }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 || (result < 0 && errno == EINTR) { return nil }
        runningGroups.remove(pid)
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
        lock.lock()
        defer { lock.unlock() }
        guard pipe(&fds) == 0 else {
            throw SpawnFailure(message: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    private func spawn(
        executable: String,
        arguments: [String],
        environment: [String: String],
        stdoutWrite: Int32,
        stderrWrite: Int32
    ) throws(SpawnFailure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutWrite, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrWrite, 2)

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

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }

        var pid: pid_t = 0
        // Hold the registry lock across the spawn so the group is known before any
        // signalAll can look for it.
        lock.lock()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        if result == 0 { runningGroups.insert(pid) }
        lock.unlock()
        guard result == 0 else {
            throw SpawnFailure(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }
}
