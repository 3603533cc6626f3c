// Test helper: races for leases in a state database, so tests can check that exactly one of two
// processes wins each one.
//
//   furrow-state-race DB OWNER LEASE   try LEASE once, print "won" or "lost"
//   furrow-state-race DB OWNER         try one lease per line read from stdin, answering each line
import Foundation
import FurrowState

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2 || arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: furrow-state-race DB OWNER [LEASE]\n".utf8))
    exit(2)
}
let databasePath = arguments[arguments.startIndex]
let owner = arguments[arguments.startIndex + 1]

func attempt(_ store: SQLiteStateStore, lease: String) throws(StateError) {
    let outcome = try store.acquireLease(lease, owner: owner, ttl: .seconds(600), now: Date())
    // Unbuffered, so the test reads each answer as soon as it is decided.
    FileHandle.standardOutput.write(Data((outcome.lease != nil ? "won\n" : "lost\n").utf8))
}

do {
    let store = try SQLiteStateStore(path: databasePath)
    if arguments.count == 3 {
        try attempt(store, lease: arguments[arguments.startIndex + 2])
    } else {
        while let line = readLine() {
            try attempt(store, lease: line)
        }
    }
} catch {
    FileHandle.standardError.write(Data("furrow-state-race: \(error)\n".utf8))
    exit(1)
}
