import Foundation
import FurrowJSON
@testable import FurrowState

/// A fresh directory under the system temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "furrow-state-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Items compare by content, whatever their member order (stores keep items canonically ordered).
func sameItem(_ a: StateItem?, _ b: StateItem?) -> Bool {
    a?.canonicalJSON() == b?.canonicalJSON()
}

/// The thrown `StateError`, or nil when `body` did not throw one.
func stateError(_ body: () throws -> Void) -> StateError? {
    do {
        try body()
        return nil
    } catch let error as StateError {
        return error
    } catch {
        return nil
    }
}
