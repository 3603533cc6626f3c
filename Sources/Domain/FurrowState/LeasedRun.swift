import Foundation

/// What became of a block run under a lease (`state.lock` / `state.try_lock`).
public enum LeasedRun<Result> {
    /// The block ran; `release` says whether the lease was still held when it was given back.
    case ran(Result, release: LeaseRelease)
    /// Another owner holds the lease; the block did not run.
    case held(by: Lease)
}

extension Lease {
    /// An owner id unique to this call in this process on this host (`host/pid/random`), so leases
    /// taken by concurrent workers, processes or machines never share an owner.
    public static func uniqueOwner() -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        return "\(host)/\(getpid())/\(UUID().uuidString.prefix(8).lowercased())"
    }
}

extension StateStore {
    /// Runs `body` holding the lease `name` for `owner`, and releases it afterwards, also when `body`
    /// throws (its error is then rethrown). While another owner holds the lease it tries again for up
    /// to `wait`, pausing through `pause` (the caller's interruptible sleep) with a backoff from 50 ms
    /// to 1 s; returns `.held` without running `body` when the lease is still held after that.
    /// `clock` gives the current time, for the lease's expiry (tests pass their own); the wait is timed
    /// on the monotonic clock, so a wall clock stepped back does not stretch it.
    ///
    /// With `heartbeat`, a `LeaseHeartbeat` renews the lease every that many seconds while `body` runs: a
    /// claim on work that may outlast any fixed ttl, which lapses soon after its holder dies.
    public func withLease<Result>(
        _ name: String, owner: String, ttl: Duration, wait: Duration = .zero, heartbeat: TimeInterval? = nil,
        clock: () -> Date = Date.init,
        pause: (Duration) throws -> Void = { Thread.sleep(forTimeInterval: Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) },
        _ body: (Lease) throws -> Result
    ) throws -> LeasedRun<Result> {
        let deadline = ContinuousClock.now + wait
        var backoff = Duration.milliseconds(50)
        let lease: Lease
        while true {
            let attempt = try acquireLease(name, owner: owner, ttl: ttl, now: clock())
            if case .acquired(let acquired) = attempt {
                lease = acquired
                break
            }
            guard case .held(let holder) = attempt else { continue }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return .held(by: holder) }
            try pause(min(backoff, remaining + .milliseconds(1)))
            backoff = min(backoff * 2, .seconds(1))
        }
        let beats = heartbeat.map { LeaseHeartbeat(store: self, lease: lease, ttl: ttl, interval: $0) }
        let result: Result
        do {
            result = try body(lease)
        } catch {
            let held = beats?.stop() ?? lease
            _ = try? releaseLease(held, now: clock())
            throw error
        }
        let held = beats?.stop() ?? lease
        return .ran(result, release: try releaseLease(held, now: clock()))
    }
}
