import OrderedCollections
import Synchronization

/// A Furrow map: insertion-ordered string keys, value semantics.
///
/// The entries live in one class instance shared between copies until one of them changes
/// (copy on write), so copying a map — which the evaluator does whenever it reads one —
/// costs one reference count instead of one per internal buffer.
///
/// The keys and the values are held side by side, the key at index `i` naming the value at
/// index `i` (the layout of an `OrderedDictionary`, kept by hand so that a field is read and
/// changed by its index in the values' array, with no accessor of the dictionary between).
/// The maps one literal makes share one key set (`init(keys:values:)`).
public struct FurrowMap: Sequence, ExpressibleByDictionaryLiteral, @unchecked Sendable {
    public typealias Element = (key: String, value: Value)

    final class Storage {
        var keys: OrderedSet<String>
        var values: [Value]

        init(keys: OrderedSet<String>, values: [Value]) {
            self.keys = keys
            self.values = values
        }

        /// Nested values are freed in a loop, not by recursion (see `ReleaseQueue`).
        deinit {
            if ReleaseQueue.mayNest(values) { ReleaseQueue.release(&values) }
        }

        static let scannedCount = 16

        /// The index of `key` when the map holds a bit-for-bit identical string, found by
        /// comparing the strings' 16 bytes in place. Keys written in a script and looked up
        /// by a field name in it are small strings stored inline, so this usually finds them
        /// without hashing or the general comparison (which a small map's linear search
        /// runs for every key it passes); nil means "use the general lookup".
        @inline(__always)
        func indexOfIdentical(_ key: String) -> Int? {
            // A larger map hashes: scanning it would cost more than it saves.
            guard keys.count <= Storage.scannedCount else { return nil }
            let wanted = unsafeBitCast(key, to: (UInt64, UInt64).self)
            return keys.withContiguousStorageIfAvailable { (keys: UnsafeBufferPointer<String>) -> Int? in
                guard let base = keys.baseAddress else { return nil }
                let raw = UnsafeRawPointer(base)
                for i in 0..<keys.count {
                    let bits = raw.load(fromByteOffset: i * MemoryLayout<String>.stride, as: (UInt64, UInt64).self)
                    if bits == wanted { return i }
                }
                return nil
            } ?? nil
        }

        @inline(__always)
        func index(forKey key: String) -> Int? { indexOfIdentical(key) ?? indexByComparing(key) }

        /// Whether the key at `index` is a bit-for-bit identical string to `key` (see
        /// `indexOfIdentical`); false for an index past the end.
        @inline(__always)
        func holdsIdentical(_ key: String, at index: Int) -> Bool {
            let wanted = unsafeBitCast(key, to: (UInt64, UInt64).self)
            return keys.withContiguousStorageIfAvailable { (keys: UnsafeBufferPointer<String>) -> Bool in
                guard index < keys.count, let base = keys.baseAddress else { return false }
                return UnsafeRawPointer(base + index).load(as: (UInt64, UInt64).self) == wanted
            } ?? false
        }

        /// The general lookup: hashing in a large map, comparing strings in a small one.
        @inline(never)
        func indexByComparing(_ key: String) -> Int? { keys.firstIndex(of: key) }

        /// The index of `site.name`, found by the full lookup and remembered at `site`.
        @inline(never)
        func indexSearching(_ site: FieldSite) -> Int? {
            guard let i = index(forKey: site.name) else { return nil }
            site.found(at: i)
            return i
        }

        @inline(never)
        func valueSearching(_ site: FieldSite) -> Value? {
            guard let i = indexSearching(site) else { return nil }
            return values[i]
        }

        /// The value of `key`, looked up by the general comparison.
        @inline(never)
        func valueByComparing(_ key: String) -> Value? {
            guard let i = indexByComparing(key) else { return nil }
            return values[i]
        }
    }

    var storage: Storage

    public init() { storage = Storage(keys: [], values: []) }

    public init(minimumCapacity: Int) {
        var values: [Value] = []
        values.reserveCapacity(minimumCapacity)
        storage = Storage(keys: OrderedSet(minimumCapacity: minimumCapacity), values: values)
    }

    public init(_ entries: OrderedDictionary<String, Value>) {
        storage = Storage(keys: entries.keys, values: entries.values.elements)
    }

    /// A map of `values` named by `keys`, which must be distinct and as many as the values.
    init(keys: OrderedSet<String>, values: [Value]) { storage = Storage(keys: keys, values: values) }

    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(minimumCapacity: elements.count)
        for (k, v) in elements { self[k] = v }
    }

    /// Copies the entries first when another map shares them.
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(keys: storage.keys, values: storage.values) }
    }

    public var count: Int { storage.values.count }
    public var isEmpty: Bool { storage.values.isEmpty }
    public var keys: OrderedSet<String> { storage.keys }
    public var values: [Value] { storage.values }

    public subscript(key: String) -> Value? {
        get { field(key) }
        set {
            guard let newValue else {
                removeValue(forKey: key)
                return
            }
            makeUnique()
            if let i = storage.index(forKey: key) {
                storage.values[i] = newValue
            } else {
                storage.keys.append(key)
                storage.values.append(newValue)
            }
        }
    }

    /// `self[key]`: the scan for an identical key inlined, the general lookup out of line.
    @inline(__always)
    func field(_ key: String) -> Value? {
        if let i = storage.indexOfIdentical(key) { return storage.values[i] }
        return storage.valueByComparing(key)
    }

    /// `self[site.name]`, trying first `hint`, the index where the field was found last at
    /// `site`. The caller reads the hint before it reads the map: an atomic load after it
    /// would make the map need a reference count for the read. The search is a method of the
    /// storage, out of line, for the same reason.
    @inline(__always)
    func field(_ site: FieldSite, hint: Int) -> Value? {
        if storage.holdsIdentical(site.name, at: hint) {
            // An int or a float, the common fields, is returned as it is: a general copy of
            // the value calls the enum's outlined copy to find out that it needs no retain.
            if case .int(let n) = storage.values[hint] { return .int(n) }
            if case .float(let d) = storage.values[hint] { return .float(d) }
            return storage.values[hint]
        }
        return storage.valueSearching(site)
    }

    /// The index of `site.name`, tried first at `hint` (see `field(_:hint:)`); nil when absent.
    @inline(__always)
    func index(_ site: FieldSite, hint: Int) -> Int? {
        if storage.holdsIdentical(site.name, at: hint) { return hint }
        return storage.indexSearching(site)
    }

    public func index(forKey key: String) -> Int? { storage.index(forKey: key) }

    /// Runs `body` on the value at `index` in place (the map must be uniquely held or it is copied).
    mutating func modifyValue<R>(at index: Int, _ body: (inout Value) throws(FurrowError) -> R) throws(FurrowError) -> R {
        makeUnique()
        return try body(&storage.values[index])
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> Value? {
        guard let i = storage.index(forKey: key) else { return nil }
        makeUnique()
        storage.keys.remove(at: i)
        return storage.values.remove(at: i)
    }

    public mutating func removeAll() {
        makeUnique()
        storage.keys.removeAll()
        storage.values.removeAll()
    }

    public struct Iterator: IteratorProtocol {
        let keys: OrderedSet<String>
        let values: [Value]
        var index = 0

        public mutating func next() -> Element? {
            guard index < values.count else { return nil }
            defer { index += 1 }
            return (keys[index], values[index])
        }
    }

    public func makeIterator() -> Iterator { Iterator(keys: storage.keys, values: storage.values) }
}

/// One `.name` written in a script, and the index its field had in the last map it met.
///
/// Maps made by one literal, or built field by field in the same order, hold their keys at
/// the same indices, so the field a site reads is nearly always where it was the last time:
/// the key there is compared first, which saves the scan of the keys before it. A wrong
/// guess costs that one comparison, never a wrong field. Relaxed atomic: the parallel tasks
/// of one script run the same compiled code.
final class FieldSite: Sendable {
    let name: String
    private let lastIndex = Atomic<Int>(0)

    init(_ name: String) { self.name = name }

    var hint: Int { lastIndex.load(ordering: .relaxed) }

    func found(at index: Int) { lastIndex.store(index, ordering: .relaxed) }
}
