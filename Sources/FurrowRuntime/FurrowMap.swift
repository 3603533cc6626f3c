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
        get { storage.entries[key] }
        set {
            makeUnique()
            storage.entries[key] = newValue
        }
    }

    public func index(forKey key: String) -> Int? { storage.entries.index(forKey: key) }

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
