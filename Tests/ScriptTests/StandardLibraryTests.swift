import Foundation
import FurrowLibrary
import Testing

/// The standard library is Furrow source in `stdlib/`, embedded in the binary by
/// `scripts/embed-stdlib`. This fails when the embedded copy is stale: run that script.
@Suite struct StandardLibraryTests {
    @Test func embeddedCopyMatchesTheSources() throws {
        let root = Paths.root.appendingPathComponent("stdlib")
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".furrow") } ?? []
        #expect(!files.isEmpty)
        var onDisk: [String: String] = [:]
        for file in files {
            var text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            while text.hasSuffix("\n") { text.removeLast() }  // as scripts/embed-stdlib stores it
            onDisk["std/" + String(file.dropLast(".furrow".count))] = text
        }
        #expect(Set(onDisk.keys) == Set(StandardLibrary.sources.keys), "modules differ: run scripts/embed-stdlib")
        for (name, text) in onDisk {
            #expect(StandardLibrary.sources[name] == text, "\(name) is stale in the binary: run scripts/embed-stdlib")
        }
    }
}
