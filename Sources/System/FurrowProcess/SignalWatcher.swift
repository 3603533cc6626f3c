import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The pipe from the signal handler to the watcher thread; written only by `forwardSignal`.
nonisolated(unsafe) private var signalPipe: (read: Int32, write: Int32) = (-1, -1)

/// Signals as ordinary events. The handler only writes the signal's number to a pipe
/// (async-signal-safe); a thread reads it and calls the watcher's closure, which may then
/// take locks, log, start timers and signal children like any other code.
public enum SignalWatcher {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var handlers: [Int32: @Sendable (Int32) -> Void] = [:]

    /// Calls `onSignal` on the watcher thread each time one of `signals` arrives; replaces an
    /// earlier closure for the same signal. SA_RESTART keeps blocking reads (readline's) going.
    public static func watch(_ signals: [Int32], _ onSignal: @escaping @Sendable (Int32) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        if signalPipe.read < 0 {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
            signalPipe = (fds[0], fds[1])
            let readEnd = fds[0]
            let thread = Thread { SignalWatcher.dispatchSignals(from: readEnd) }
            thread.name = "furrow signals"
            thread.start()
        }
        // A parent may have started us with these signals blocked (the mask is inherited):
        // unblock them in this thread, which the kernel then chooses to deliver them to.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in signals { sigaddset(&unblock, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for signal in signals {
            handlers[signal] = onSignal
            var action = sigaction()
            #if canImport(Darwin)
            action.__sigaction_u.__sa_handler = forwardSignal
            #else
            action.__sigaction_handler.sa_handler = forwardSignal
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    private static func dispatchSignals(from fd: Int32) {
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return }
            lock.lock()
            let handler = handlers[Int32(byte)]
            lock.unlock()
            handler?(Int32(byte))
        }
    }
}

/// The signal handler itself: one write, errno kept for the interrupted code.
private func forwardSignal(_ signal: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(signalPipe.write, &byte, 1)
    errno = saved
}
