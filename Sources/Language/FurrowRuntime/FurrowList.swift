/// A Furrow list: value semantics, like `FurrowMap`.
///
/// The items live in a class instance of our own, shared between copies until one of them
/// changes (copy on write). Owning that class is what lets a list free what it holds without
/// recursion (see `ReleaseQueue`): a list nested millions of levels deep is freed in a loop,
/// not by one native stack frame per level.
///
/// A list that is filled with bools only or ints only, starting empty (`append`) or made by
/// `repeating:count:`, keeps them packed: one byte per bool, eight per int, where a `Value` is
/// 24. A list of a million flags then takes 1 MB instead of 24. The first item of another kind
/// turns the list into `Value`s for good; nothing a script can observe differs.
public struct FurrowList: RandomAccessCollection, MutableCollection, RangeReplaceableCollection,
    ExpressibleByArrayLiteral, @unchecked Sendable
{
    public typealias Element = Value
    public typealias Index = Int
    public typealias Indices = Range<Int>
    public typealias SubSequence = ArraySlice<Value>

    /// Which of the storage's arrays holds the items (the others are empty).
    enum Kind: UInt8 { case values, bools, ints }

    final class Storage {
        var kind: Kind
        var items: [Value]
        var bools: [Bool] = []
        var ints: [Int] = []
        init(_ items: [Value]) { self.items = items; kind = .values }
        init(bools: [Bool]) { items = []; self.bools = bools; kind = .bools }
        init(ints: [Int]) { items = []; self.ints = ints; kind = .ints }

        /// A copy holding the same items the same way.
        func copy() -> Storage {
            switch kind {
            case .values: return Storage(items)
            case .bools: return Storage(bools: bools)
            case .ints: return Storage(ints: ints)
            }
        }

        var count: Int {
            switch kind {
            case .values: return items.count
            case .bools: return bools.count
            case .ints: return ints.count
            }
        }

        @inline(__always)
        func item(_ i: Int) -> Value {
            switch kind {
            case .values: return items[i]
            case .bools: return .bool(bools[i])
            case .ints: return .int(ints[i])
            }
        }

        /// The items as `Value`s: the array itself, or a new one made from the packed items.
        var values: [Value] {
            switch kind {
            case .values: return items
            case .bools: return bools.map { .bool($0) }
            case .ints: return ints.map { .int($0) }
            }
        }

        /// Stores `value` at `i`, unpacking the list first when it does not fit the packing.
        @inline(__always)
        func set(_ i: Int, _ value: Value) {
            if kind == .values {
                items[i] = value
                return
            }
            switch (kind, value) {
            case (.bools, .bool(let b)): bools[i] = b
            case (.ints, .int(let n)): ints[i] = n
            default:
                unpack()
                items[i] = value
            }
        }

        @inline(__always)
        func append(_ value: Value) {
            switch (kind, value) {
            case (.values, _):
                // An empty list takes the packing of its first item.
                if items.isEmpty && items.capacity == 0 {
                    if case .bool(let b) = value { kind = .bools; bools.append(b); return }
                    if case .int(let n) = value { kind = .ints; ints.append(n); return }
                }
                items.append(value)
            case (.bools, .bool(let b)): bools.append(b)
            case (.ints, .int(let n)): ints.append(n)
            default:
                unpack()
                items.append(value)
            }
        }

        /// Turns packed items into `Value`s, for good.
        @inline(never)
        func unpack() {
            guard kind != .values else { return }
            items = values
            bools = []
            ints = []
            kind = .values
        }

        deinit {
            if kind == .values, ReleaseQueue.mayNest(items) { ReleaseQueue.release(&items) }
        }
    }

    var storage: Storage

    public init() { storage = Storage([]) }
    public init(_ items: [Value]) { storage = Storage(items) }
    public init<S: Sequence>(_ items: S) where S.Element == Value { storage = Storage(Array(items)) }
    public init(arrayLiteral elements: Value...) { storage = Storage(elements) }
    public init(repeating value: Value, count: Int) {
        switch value {
        case .bool(let b): storage = Storage(bools: Array(repeating: b, count: count))
        case .int(let n): storage = Storage(ints: Array(repeating: n, count: count))
        default: storage = Storage(Array(repeating: value, count: count))
        }
    }

    /// The items as a Swift array (sharing the buffer, no copy, unless the items are packed).
    public var array: [Value] { storage.values }

    /// Copies the items first when another list shares them.
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// Copies the items first when another list shares them, and unpacks them: for the changes
    /// that work on the `Value` array directly.
    @inline(__always)
    mutating func makeUniqueValues() {
        makeUnique()
        storage.unpack()
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.count == 0 }
    public var indices: Range<Int> { 0..<storage.count }
    @inline(__always) public func index(after i: Int) -> Int { i + 1 }
    @inline(__always) public func index(before i: Int) -> Int { i - 1 }
    public var first: Value? { isEmpty ? nil : storage.item(0) }
    public var last: Value? { isEmpty ? nil : storage.item(storage.count - 1) }

    public subscript(i: Int) -> Value {
        @inline(__always) get { storage.item(i) }
        set {
            makeUnique()
            storage.set(i, newValue)
        }
        _modify {
            // Kept to the plain case: a larger coroutine frame is allocated on every access.
            // The interpreter changes items through `modifyItem`, which keeps packed items packed.
            makeUniqueValues()
            yield &storage.items[i]
        }
    }

    /// Runs `body` on item `i` in place. A packed item is changed as a `Value` and stored
    /// back (unpacking the list when it no longer fits), also when `body` throws, as a change
    /// in place would have left it.
    @inline(__always)
    public mutating func modifyItem<E: Error>(at i: Int, _ body: (inout Value) throws(E) -> Void) throws(E) {
        makeUnique()
        if storage.kind == .values {
            try body(&storage.items[i])
            return
        }
        var item = storage.item(i)
        do throws(E) { try body(&item) } catch {
            storage.set(i, item)
            throw error
        }
        storage.set(i, item)
    }

    public subscript(bounds: Range<Int>) -> ArraySlice<Value> {
        get { storage.kind == .values ? storage.items[bounds] : ArraySlice(storage.values[bounds]) }
        set {
            makeUniqueValues()
            storage.items[bounds] = newValue
        }
    }

    public func makeIterator() -> IndexingIterator<[Value]> { storage.values.makeIterator() }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Value>) throws -> R) rethrows -> R? {
        guard storage.kind == .values else { return nil }
        return try storage.items.withUnsafeBufferPointer(body)
    }

    public mutating func replaceSubrange<C: Collection>(_ subrange: Range<Int>, with newElements: C) where C.Element == Value {
        makeUniqueValues()
        storage.items.replaceSubrange(subrange, with: newElements)
    }

    public mutating func reserveCapacity(_ n: Int) {
        makeUnique()
        switch storage.kind {
        case .values: storage.items.reserveCapacity(n)
        case .bools: storage.bools.reserveCapacity(n)
        case .ints: storage.ints.reserveCapacity(n)
        }
    }

    public mutating func append(_ item: Value) {
        makeUnique()
        storage.append(item)
    }

    public mutating func append<S: Sequence>(contentsOf items: S) where S.Element == Value {
        makeUniqueValues()
        storage.items.append(contentsOf: items)
    }

    public mutating func insert(_ item: Value, at i: Int) {
        makeUniqueValues()
        storage.items.insert(item, at: i)
    }

    @discardableResult
    public mutating func remove(at i: Int) -> Value {
        makeUniqueValues()
        return storage.items.remove(at: i)
    }

    @discardableResult
    public mutating func removeLast() -> Value {
        makeUnique()
        switch storage.kind {
        case .values: return storage.items.removeLast()
        case .bools: return .bool(storage.bools.removeLast())
        case .ints: return .int(storage.ints.removeLast())
        }
    }

    public mutating func removeAll(keepingCapacity keep: Bool = false) {
        if isKnownUniquelyReferenced(&storage) {
            storage.items.removeAll(keepingCapacity: keep)
            storage.bools.removeAll(keepingCapacity: keep)
            storage.ints.removeAll(keepingCapacity: keep)
        } else {
            storage = Storage([])
        }
    }

    public static func + (lhs: FurrowList, rhs: FurrowList) -> FurrowList {
        switch (lhs.storage.kind, rhs.storage.kind) {
        case (.bools, .bools): return FurrowList(storage: Storage(bools: lhs.storage.bools + rhs.storage.bools))
        case (.ints, .ints): return FurrowList(storage: Storage(ints: lhs.storage.ints + rhs.storage.ints))
        default: return FurrowList(lhs.storage.values + rhs.storage.values)
        }
    }

    private init(storage: Storage) { self.storage = storage }
}

extension Value {
    /// A list value holding `items`.
    @inline(__always)
    public static func list(_ items: [Value]) -> Value { .list(FurrowList(items)) }
}
