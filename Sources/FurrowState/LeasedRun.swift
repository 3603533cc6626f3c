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
    /// throws (its error is then rethrown). Returns `.held` without running `body` when another owner
    /// holds the lease. `clock` gives the current time (tests pass their own).
    ///
    /// With `heartbeat`, a `LeaseHeartbeat` renews the lease every that many seconds while `body` runs: a
    /// claim on work that may outlast any fixed ttl, which lapses soon after its holder dies.
    public func withLease<Result>(
        _ name: String, owner: String, ttl: Duration, heartbeat: TimeInterval? = nil, clock: () -> Date = Date.init,
        _ body: (Lease) throws -> Result
    ) throws -> LeasedRun<Result> {
        let lease: Lease
        switch try acquireLease(name, owner: owner, ttl: ttl, now: clock()) {
        case .held(let holder): return .held(by: holder)
        case .acquired(let acquired): lease = acquired
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
