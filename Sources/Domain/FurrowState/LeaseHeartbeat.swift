import Foundation

/// Keeps a lease alive while its holder works: renews it to `now + ttl` every `interval` on a thread of
/// its own, so that a claim lasts as long as its owner runs and expires soon after the owner dies (killed,
/// host lost). A failed renewal is retried on the next beat; a lease another owner took over stops the beats.
public final class LeaseHeartbeat: @unchecked Sendable {
    private let store: any StateStore
    private let ttl: Duration
    private let interval: TimeInterval
    private let lock = NSLock()
    /// Signalled by `stop()`. The beats wait on it with a timeout on the monotonic clock, so a wall
    /// clock stepped back cannot hold a renewal off past the lease's expiry.
    private let stopping = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var current: Lease
    private var lost = false

    /// Starts beating at once. `interval` defaults to a third of the ttl, so two renewals may fail in a row
    /// before the lease lapses.
    public init(store: any StateStore, lease: Lease, ttl: Duration, interval: TimeInterval? = nil) {
        self.store = store
        self.ttl = ttl
        self.current = lease
        let seconds = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
        self.interval = max(interval ?? seconds / 3, 0.001)
        let thread = Thread { [self] in beat() }
        thread.name = "lease heartbeat \(lease.name)"
        thread.start()
    }

    /// Renews every `interval` on the monotonic clock, waking at least every second to look at the
    /// wall clock too: one stepped forward brings the lease's expiry (a wall-clock time) nearer, so
    /// the lease is renewed at once.
    private func beat() {
        defer { finished.signal() }
        var last = (wall: Date(), steady: ContinuousClock.now)
        while stopping.wait(timeout: .now() + min(interval, 1)) == .timedOut {
            let elapsed = last.steady.duration(to: .now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let stepped = Date().timeIntervalSince(last.wall) - seconds > 1
            guard seconds >= interval || stepped else { continue }
            last = (Date(), ContinuousClock.now)
            let lease = lock.withLock { current }
            do throws(StateError) {
                let renewed = try store.renewLease(lease, ttl: ttl, now: Date())
                lock.withLock { current = renewed }
            } catch where error.kind == .leaseLost {
                lock.withLock { lost = true }
                return
            } catch {
                // a lookup failure: the next beat tries again while the lease is still valid
            }
        }
    }

    /// Stops the beats and waits for the thread; returns the lease as last renewed, or nil when another
    /// owner took it over meanwhile. Called once.
    @discardableResult
    public func stop() -> Lease? {
        stopping.signal()
        finished.wait()
        return lock.withLock { lost ? nil : current }
    }
}
