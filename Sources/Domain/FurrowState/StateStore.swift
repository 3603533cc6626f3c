import Foundation
import FurrowJSON

/// A state table's name and the attribute that keys its items.
public struct StateTableDefinition: Sendable, Equatable {
    public let name: String
    public let keyAttribute: String

    public init(name: String, keyAttribute: String) {
        self.name = name
        self.keyAttribute = keyAttribute
    }

    /// Table names follow DynamoDB's rule (3 to 255 of `A-Z a-z 0-9 _ - .`) in every store.
    public static func validate(name: String) throws(StateError) {
        let allowed = name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        guard allowed, (3...255).contains(name.utf8.count) else {
            throw StateError(
                .invalid, table: nil,
                message: "invalid table name \"\(name)\": use 3 to 255 letters, digits, '_', '-' or '.'")
        }
    }
}

/// A page-wise scan: each `nextPage()` reads one more page from the store, so a caller that stops
/// early never reads the rest. Items come in key order in the SQLite store (in no particular order
/// in DynamoDB). Writes made during a scan may or may not be seen, as in DynamoDB.
public protocol StateScanCursor: AnyObject {
    /// The next items that match the filter, or nil when the table is exhausted. A page is never empty.
    func nextPage() throws(StateError) -> [StateItem]?
    /// How many stored items this cursor has read so far (before any filtering done outside the store).
    var itemsRead: Int { get }
}

/// A time-limited exclusive claim on a name, held by one owner until it expires or is released.
public struct Lease: Sendable, Equatable {
    public let name: String
    public let owner: String
    public let expiresAt: Date

    public init(name: String, owner: String, expiresAt: Date) {
        self.name = name
        self.owner = owner
        self.expiresAt = expiresAt
    }
}

/// The outcome of trying to take a lease.
public enum LeaseAcquisition: Sendable, Equatable {
    case acquired(Lease)
    /// Someone else holds it and it has not expired.
    case held(by: Lease)

    public var lease: Lease? {
        if case .acquired(let lease) = self { return lease }
        return nil
    }
}

/// The outcome of releasing a lease.
public enum LeaseRelease: Sendable, Equatable {
    /// Released while still valid.
    case released
    /// The lease had expired before release (nobody took it meanwhile); the holder outlived its ttl.
    case expiredBeforeRelease(expiredAt: Date)
    /// The lease expired and another owner took it over; it was left alone.
    case takenOver(by: Lease)
}

/// The storage behind `state.table(...)` and `state.lock(...)`: the embedded SQLite store or DynamoDB.
///
/// Items are maps keyed by their table's key attribute, whose value is a non-empty string. Every store
/// applies the same rules (`StateItemRules`): 400 KB per item, keys up to 2048 bytes, finite numbers.
/// Conditional operations are atomic; a failed condition throws `StateError` of kind `.conflict`
/// whose `mismatches` say what differed. Implementations are safe to call from several threads.
public protocol StateStore: AnyObject, Sendable {
    /// Creates the table when missing; an existing table must have the same key attribute.
    @discardableResult
    func ensureTable(_ name: String, keyAttribute: String) throws(StateError) -> StateTableDefinition

    /// The existing tables, sorted by name.
    func tables() throws(StateError) -> [StateTableDefinition]

    /// The item with this key, or nil.
    func get(_ table: String, key: String) throws(StateError) -> StateItem?

    /// Stores the item, replacing any item with its key; with `ifAbsent`, a conflict when one exists.
    func put(_ table: String, item: StateItem, ifAbsent: Bool) throws(StateError)

    /// Sets the attributes in `changes` on an existing item (a null value removes the attribute) when
    /// `condition` holds, and returns the new item. A missing item is a conflict. The key attribute
    /// cannot be changed.
    @discardableResult
    func update(_ table: String, key: String, changes: StateItem, condition: StateCondition?) throws(StateError)
        -> StateItem

    /// Deletes the item when `condition` holds (evaluated against an empty item when it is missing);
    /// returns whether an item was deleted.
    @discardableResult
    func delete(_ table: String, key: String, condition: StateCondition?) throws(StateError) -> Bool

    /// A lazy scan of the items matching `filter`, read `pageSize` items at a time.
    func scan(_ table: String, filter: StateFilter?, pageSize: Int) throws(StateError) -> any StateScanCursor

    /// The number of items matching `filter` (all items when nil).
    func count(_ table: String, filter: StateFilter?) throws(StateError) -> Int

    /// Takes the lease `name` for `owner` until `now + ttl` if it is free, expired, or already
    /// this owner's (which extends it). Exactly one of several racing callers gets it.
    func acquireLease(_ name: String, owner: String, ttl: Duration, now: Date) throws(StateError) -> LeaseAcquisition

    /// Gives the lease up if it is still this owner's, and says whether the holder kept to its ttl.
    @discardableResult
    func releaseLease(_ lease: Lease, now: Date) throws(StateError) -> LeaseRelease

    /// Extends the lease to `now + ttl`; `.leaseLost` when another owner has taken it over meanwhile.
    func renewLease(_ lease: Lease, ttl: Duration, now: Date) throws(StateError) -> Lease

    /// Every lease on record, held or run out but not yet taken again, sorted by name.
    func leases() throws(StateError) -> [Lease]

    /// Removes the lease `name` whoever holds it (recovery after a holder died); returns what
    /// was removed, nil when there was no such lease.
    @discardableResult
    func breakLease(_ name: String) throws(StateError) -> Lease?
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var furrowMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

extension Date {
    var furrowMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    init(furrowMilliseconds: Int64) { self.init(timeIntervalSince1970: Double(furrowMilliseconds) / 1000) }
}
