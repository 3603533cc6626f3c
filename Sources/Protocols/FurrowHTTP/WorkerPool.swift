import Foundation

/// A fixed number of threads with large stacks that run synchronous jobs for async callers:
/// the interpreter is synchronous and recursion-heavy, so handlers must not run on the
/// event loops or on the cooperative pool. Each thread keeps a state of its own (a fiber),
/// and a bounded queue holds the jobs waiting for a thread.
public final class WorkerPool<State>: @unchecked Sendable {
    public struct Busy: Error {}

    private let condition = NSCondition()
    private var queue: [(State) -> Void] = []
    private var stopped = false
    private let queueLimit: Int
    private var threads: [Thread] = []

    public init(threads count: Int, queueLimit: Int, stackSize: Int = 1 << 28, makeState: @escaping @Sendable () -> State) {
        self.queueLimit = queueLimit
        for index in 0..<max(1, count) {
            let thread = Thread { [unowned self] in
                let state = makeState()
                while let job = self.next() { job(state) }
            }
            thread.name = "furrow-handler-\(index)"
            thread.stackSize = stackSize
            threads.append(thread)
        }
        for thread in threads { thread.start() }
    }

    private func next() -> ((State) -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopped { condition.wait() }
        if queue.isEmpty { return nil }
        return queue.removeFirst()
    }

    /// Runs `job` on a worker thread; throws `Busy` when the queue is full.
    public func run<T: Sendable>(_ job: @escaping (State) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            condition.lock()
            guard !stopped, queue.count < queueLimit else {
                condition.unlock()
                continuation.resume(throwing: Busy())
                return
            }
            queue.append { state in continuation.resume(returning: job(state)) }
            condition.signal()
            condition.unlock()
        }
    }

    /// Lets the threads finish the queued jobs and end.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
