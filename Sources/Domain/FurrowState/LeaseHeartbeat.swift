import Foundation

/// Keeps a lease alive while its holder works: renews it to `now + ttl` every `interval` on a thread of
/// its own, so that a claim lasts as long as its owner runs and expires soon after the owner dies (killed,
/// host lost). A failed renewal is retried on the next beat; a lease another owner took over stops the beats.
public final class LeaseHeartbeat: @unchecked Sendable {
    private let store: any StateStore
    private let ttl: Duration
    private let interval: TimeInterval
    private let condition = NSCondition()
    private var current: Lease
    private var stopped = false
    private var finished = false
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

    private func beat() {
        condition.lock()
        defer {
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        while !stopped {
            _ = condition.wait(until: Date().addingTimeInterval(interval))
            if stopped { break }
            let lease = current
            condition.unlock()
            let outcome: Result<Lease, StateError>
            do throws(StateError) {
                outcome = .success(try store.renewLease(lease, ttl: ttl, now: Date()))
            } catch {
                outcome = .failure(error)
            }
            condition.lock()
            switch outcome {
            case .success(let renewed): current = renewed
            case .failure(let error) where error.kind == .leaseLost:
                lost = true
                stopped = true
            case .failure:
                break  // a lookup failure: the next beat tries again while the lease is still valid
            }
        }
    }

    /// Stops the beats and waits for the thread; returns the lease as last renewed, or nil when another
    /// owner took it over meanwhile.
    @discardableResult
    public func stop() -> Lease? {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        defer { condition.unlock() }
        return lost ? nil : current
    }
}
