import Foundation

/// A condition variable whose timed waits run on the monotonic clock. `NSCondition.wait(until:)`
/// waits for a wall-clock time, so a clock stepped back an hour (NTP, an operator, a resumed
/// virtual machine) would stretch `sleep(5s)` by that hour, and one stepped forward would cut it short.
final class MonotonicCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func broadcast() { pthread_cond_broadcast(condition) }

    /// The monotonic clock's reading `nanoseconds` from now, for `wait(until:)`.
    static func deadline(after nanoseconds: Int64) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        let end = total.addingReportingOverflow(max(0, nanoseconds))
        let clamped = end.overflow ? Int64.max : end.partialValue
        return timespec(tv_sec: Int(clamped / 1_000_000_000), tv_nsec: Int(clamped % 1_000_000_000))
    }

    /// Waits, holding the lock, for a broadcast or `deadline` (from `deadline(after:)`); false when the
    /// deadline passed. Like any condition wait it may return early: callers re-check what they wait for.
    func wait(until deadline: timespec) -> Bool {
        var deadline = deadline
        return pthread_cond_timedwait(condition, mutex, &deadline) != ETIMEDOUT
    }
}
