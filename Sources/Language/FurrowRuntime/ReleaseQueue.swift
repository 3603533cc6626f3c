#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frees nested values in a loop instead of by recursion.
///
/// Freeing a list frees its items; when an item is a list held nowhere else, that frees its
/// items in turn, one native stack frame (or several) per level. A list nested millions of
/// levels deep (`v = [v]` in a loop) would overflow the stack the moment it is dropped.
/// So the storage of every container (lists, maps, cells, error values) hands what it holds
/// to this per-thread queue when it is freed, and the first of them on the thread drains the
/// queue in a loop: a container freed while the queue drains only adds its contents to it,
/// and the stack stays a few frames deep however deep the value was.
///
/// Containers of scalars and strings (nearly all of them) never reach the queue: freeing
/// them cannot free another container.
enum ReleaseQueue {
    final class Pending {
        var draining = false
        var lists: [[Value]] = []
        var values: [Value] = []
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<Pending>.fromOpaque(pointer).release() }
        }
        return key
    }()

    /// This thread's queue.
    private static var pending: Pending {
        if let pointer = pthread_getspecific(key) { return Unmanaged<Pending>.fromOpaque(pointer).takeUnretainedValue() }
        let created = Pending()
        pthread_setspecific(key, Unmanaged.passRetained(created).toOpaque())
        return created
    }

    /// Whether freeing `items` could free another container (and so recurse).
    @inline(__always)
    static func mayNest(_ items: [Value]) -> Bool {
        items.withUnsafeBufferPointer { buffer in
            for i in buffer.indices where buffer[i].holdsValues { return true }
            return false
        }
    }

    /// Frees a list's items or a map's values through the queue (from the storage's
    /// `deinit`). The items are moved out, so that the queue holds the only reference: were
    /// the storage to keep one, freeing it after the drain would free them there, by
    /// recursion again.
    static func release(_ items: inout [Value]) {
        let queue = pending
        queue.lists.append(items)
        items = []
        if !queue.draining { drain(queue) }
    }

    /// Frees one value through the queue (a cell's, an error's data), moving it out.
    static func release(_ value: inout Value) {
        let queue = pending
        queue.values.append(value)
        value = .null
        if !queue.draining { drain(queue) }
    }

    /// Drops what the queue holds, last in first out, until it is empty: each dropped
    /// container's storage adds its own contents to the queue rather than freeing them.
    private static func drain(_ queue: Pending) {
        queue.draining = true
        while true {
            if queue.lists.popLast() != nil { continue }
            if queue.values.popLast() != nil { continue }
            break
        }
        queue.draining = false
    }
}

extension Value {
    /// Whether the value holds other values that freeing it may free: containers, cells,
    /// functions (their captured cells), errors (their data) and host objects.
    @inline(__always)
    var holdsValues: Bool {
        switch self {
        case .null, .bool, .int, .float, .string, .duration, .time, .range: return false
        case .list, .map, .function, .error, .host, .cell: return true
        }
    }
}
