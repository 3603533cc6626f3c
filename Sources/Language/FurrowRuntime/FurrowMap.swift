import OrderedCollections

/// A Furrow map: insertion-ordered string keys, value semantics.
///
/// The entries live in one class instance shared between copies until one of them changes
/// (copy on write), so copying a map — which the evaluator does whenever it reads one —
/// costs one reference count instead of one per internal buffer of the dictionary.
public struct FurrowMap: Sequence, ExpressibleByDictionaryLiteral, @unchecked Sendable {
    public typealias Element = (key: String, value: Value)

    final class Storage {
        var entries: OrderedDictionary<String, Value>
        init(_ entries: OrderedDictionary<String, Value>) { self.entries = entries }

        /// Nested values are freed in a loop, not by recursion (see `ReleaseQueue`).
        deinit {
            if ReleaseQueue.mayNest(entries.values.elements) { ReleaseQueue.release(&entries) }
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
            guard entries.count <= Storage.scannedCount else { return nil }
            let wanted = unsafeBitCast(key, to: (UInt64, UInt64).self)
            return entries.keys.withContiguousStorageIfAvailable { (keys: UnsafeBufferPointer<String>) -> Int? in
                guard let base = keys.baseAddress else { return nil }
                let raw = UnsafeRawPointer(base)
                for i in 0..<keys.count {
                    let bits = raw.load(fromByteOffset: i * MemoryLayout<String>.stride, as: (UInt64, UInt64).self)
                    if bits == wanted { return i }
                }
                return nil
            } ?? nil
        }
    }

    var storage: Storage

    public init() { storage = Storage([:]) }

    public init(minimumCapacity: Int) {
        storage = Storage(OrderedDictionary(minimumCapacity: minimumCapacity))
    }

    public init(_ entries: OrderedDictionary<String, Value>) { storage = Storage(entries) }

    public init(dictionaryLiteral elements: (String, Value)...) {
        var entries = OrderedDictionary<String, Value>(minimumCapacity: elements.count)
        for (k, v) in elements { entries[k] = v }
        storage = Storage(entries)
    }

    /// Copies the entries first when another map shares them.
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.entries) }
    }

    public var count: Int { storage.entries.count }
    public var isEmpty: Bool { storage.entries.isEmpty }
    public var keys: OrderedSet<String> { storage.entries.keys }
    public var values: OrderedDictionary<String, Value>.Values { storage.entries.values }
    public var entries: OrderedDictionary<String, Value> { storage.entries }

    public subscript(key: String) -> Value? {
        get {
            if let i = storage.indexOfIdentical(key) { return storage.entries.values[i] }
            return storage.entries[key]
        }
        set {
            makeUnique()
            storage.entries[key] = newValue
        }
    }

    /// `self[key]`, inlined where a variable's field is read in place (`Compiler.fieldRead`):
    /// with the scan of the keys in the caller, the map needs no reference count for the read.
    @inline(__always)
    func field(_ key: String) -> Value? {
        if let i = storage.indexOfIdentical(key) { return storage.entries.values[i] }
        return storage.entries[key]
    }

    public func index(forKey key: String) -> Int? { storage.indexOfIdentical(key) ?? storage.entries.index(forKey: key) }

    /// Runs `body` on the value at `index` in place (the map must be uniquely held or it is copied).
    mutating func modifyValue<R>(at index: Int, _ body: (inout Value) throws(FurrowError) -> R) throws(FurrowError) -> R {
        makeUnique()
        return try body(&storage.entries.values[index])
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> Value? {
        makeUnique()
        return storage.entries.removeValue(forKey: key)
    }

    public mutating func removeAll() {
        makeUnique()
        storage.entries.removeAll()
    }

    public func makeIterator() -> OrderedDictionary<String, Value>.Iterator { storage.entries.makeIterator() }
}
