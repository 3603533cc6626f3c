/// A Furrow list: value semantics, like `FurrowMap`.
///
/// The items live in a class instance of our own, shared between copies until one of them
/// changes (copy on write). Owning that class is what lets a list free what it holds without
/// recursion (see `ReleaseQueue`): a list nested millions of levels deep is freed in a loop,
/// not by one native stack frame per level.
public struct FurrowList: RandomAccessCollection, MutableCollection, RangeReplaceableCollection,
    ExpressibleByArrayLiteral, @unchecked Sendable
{
    public typealias Element = Value
    public typealias Index = Int
    public typealias Indices = Range<Int>
    public typealias SubSequence = ArraySlice<Value>

    final class Storage {
        var items: [Value]
        init(_ items: [Value]) { self.items = items }

        deinit {
            if ReleaseQueue.mayNest(items) { ReleaseQueue.release(&items) }
        }
    }

    var storage: Storage

    public init() { storage = Storage([]) }
    public init(_ items: [Value]) { storage = Storage(items) }
    public init<S: Sequence>(_ items: S) where S.Element == Value { storage = Storage(Array(items)) }
    public init(arrayLiteral elements: Value...) { storage = Storage(elements) }
    public init(repeating value: Value, count: Int) { storage = Storage(Array(repeating: value, count: count)) }

    /// The items as a Swift array (sharing the buffer: no copy).
    public var array: [Value] { storage.items }

    /// Copies the items first when another list shares them.
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.items) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.items.count }
    public var count: Int { storage.items.count }
    public var isEmpty: Bool { storage.items.isEmpty }
    public var indices: Range<Int> { 0..<storage.items.count }
    @inline(__always) public func index(after i: Int) -> Int { i + 1 }
    @inline(__always) public func index(before i: Int) -> Int { i - 1 }
    public var first: Value? { storage.items.first }
    public var last: Value? { storage.items.last }

    public subscript(i: Int) -> Value {
        get { storage.items[i] }
        set {
            makeUnique()
            storage.items[i] = newValue
        }
        _modify {
            makeUnique()
            yield &storage.items[i]
        }
    }

    public subscript(bounds: Range<Int>) -> ArraySlice<Value> {
        get { storage.items[bounds] }
        set {
            makeUnique()
            storage.items[bounds] = newValue
        }
    }

    public func makeIterator() -> IndexingIterator<[Value]> { storage.items.makeIterator() }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Value>) throws -> R) rethrows -> R? {
        try storage.items.withUnsafeBufferPointer(body)
    }

    public mutating func replaceSubrange<C: Collection>(_ subrange: Range<Int>, with newElements: C) where C.Element == Value {
        makeUnique()
        storage.items.replaceSubrange(subrange, with: newElements)
    }

    public mutating func reserveCapacity(_ n: Int) {
        makeUnique()
        storage.items.reserveCapacity(n)
    }

    public mutating func append(_ item: Value) {
        makeUnique()
        storage.items.append(item)
    }

    public mutating func append<S: Sequence>(contentsOf items: S) where S.Element == Value {
        makeUnique()
        storage.items.append(contentsOf: items)
    }

    public mutating func insert(_ item: Value, at i: Int) {
        makeUnique()
        storage.items.insert(item, at: i)
    }

    @discardableResult
    public mutating func remove(at i: Int) -> Value {
        makeUnique()
        return storage.items.remove(at: i)
    }

    @discardableResult
    public mutating func removeLast() -> Value {
        makeUnique()
        return storage.items.removeLast()
    }

    public mutating func removeAll(keepingCapacity keep: Bool = false) {
        if isKnownUniquelyReferenced(&storage) { storage.items.removeAll(keepingCapacity: keep) } else { storage = Storage([]) }
    }

    public static func + (lhs: FurrowList, rhs: FurrowList) -> FurrowList { FurrowList(lhs.storage.items + rhs.storage.items) }
}

extension Value {
    /// A list value holding `items`.
    @inline(__always)
    public static func list(_ items: [Value]) -> Value { .list(FurrowList(items)) }
}
