import Foundation
import FurrowLibrary
import FurrowRuntime
import Testing

/// furrow.toml is TOML 1.0: fixtures of what it allows (`TOML/valid/NAME.toml`, with the
/// values they must give in `NAME.expected`) and of what it forbids (`TOML/invalid/*.toml`,
/// whose first line `# error: LINE: TEXT` says where the error must point and what it says).
@Suite struct ConfigurationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("TOML")

    static func files(_ folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)) ?? []
        return names.filter { $0.hasSuffix(".toml") }.sorted()
    }

    /// The file alone: no known sections, so nothing is added or checked.
    func load(_ path: String, environment: [String: String] = [:], sections: [ConfigurationSection] = []) throws -> Configuration {
        try Configuration.load(environment: ["FURROW_CONFIG": path].merging(environment) { _, new in new }, sections: sections)
    }

    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("furrow-config-\(UUID().uuidString).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: files("valid"))
    func validFileGivesItsValues(_ name: String) throws {
        let path = Self.fixtures.appendingPathComponent("valid/\(name)").path
        let expected = try String(contentsOfFile: path.replacingOccurrences(of: ".toml", with: ".expected"), encoding: .utf8)
        let configuration = try load(path)
        #expect(Format.repr(configuration.value) + "\n" == expected)
        #expect(configuration.warnings.isEmpty)
    }

    @Test(arguments: files("invalid"))
    func invalidFileIsRefusedWithItsLine(_ name: String) throws {
        let path = Self.fixtures.appendingPathComponent("invalid/\(name)").path
        let header = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")[0]
        let parts = header.dropFirst("# error: ".count).split(separator: ":", maxSplits: 1)
        let line = String(parts[0]), text = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        do {
            _ = try load(path)
            Issue.record("\(name) was accepted")
        } catch let error as FurrowError {
            #expect(error.kind == "config")
            #expect(error.message.hasPrefix("\(path):\(line):"), "\(error.message)")
            #expect(error.message.lowercased().contains(text.lowercased()), "\(error.message)")
        }
    }

    @Test func everyFixtureFolderHasFiles() {
        #expect(Self.files("valid").count >= 6)
        #expect(Self.files("invalid").count >= 8)
    }

    @Test func knownSectionsHaveTheirDefaultsAndTheFileWins() throws {
        let path = try write("[jobs]\nrepos = [\n  \"tyk\",\n  \"tyk-pump\",   # trailing comma\n]\n[state]\npath = \"x.db\"\n")
        let configuration = try load(path, sections: ConfigurationSection.known)
        #expect(Format.repr(configuration.value("jobs", "repos")!) == "[\"tyk\", \"tyk-pump\"]")
        #expect(configuration.string("state", "path") == "x.db")
        #expect(configuration.string("state", "store") == "sqlite", "a default the file does not touch stays")
        #expect(configuration.string("terraform", "dir") == nil, "no path is baked in")
        #expect(Format.repr(try Configuration.load(environment: ["FURROW_CONFIG": try write("")]).value("jobs", "repos")!) == "[]",
                "no repository is baked in")
    }

    @Test func unknownKeysAreKeptWithADidYouMeanWarning() throws {
        let path = try write("[jobs]\ntable = \"T\"\ntabel = \"typo\"\n\n[job]\nx = 1\n\n[report]\nrecipients = [\"ops\"]\n")
        let configuration = try load(path, environment: ["FURROW_JOBS_REPSO": "a"], sections: ConfigurationSection.known)
        #expect(configuration.warnings.contains("\(path):3: unknown key jobs.tabel (did you mean jobs.table?)"), "\(configuration.warnings)")
        #expect(configuration.warnings.contains("\(path):5: unknown section [job] (did you mean [jobs]?)"), "\(configuration.warnings)")
        #expect(configuration.warnings.contains("FURROW_JOBS_REPSO: unknown key jobs.repso (did you mean FURROW_JOBS_REPOS?)"), "\(configuration.warnings)")
        #expect(configuration.warnings.count == 3, "a section of the scripts' own is no mistake: \(configuration.warnings)")
        #expect(configuration.string("jobs", "tabel") == "typo")
        #expect(Format.repr(configuration.section("report")["recipients"]!) == "[\"ops\"]")
    }

    @Test func aKeyOfTheWrongTypeIsAnErrorAtItsLine() throws {
        let path = try write("[jobs]\n\nttl = \"sixty\"\n")
        #expect {
            try load(path, sections: ConfigurationSection.known)
        } throws: { ($0 as? FurrowError)?.message == "\(path):3: jobs.ttl must be an integer, got string" }
    }

    @Test func environmentVariablesAreParsedAsTheirKeysType() throws {
        let path = try write("")
        let configuration = try load(path, environment: [
            "FURROW_JOBS_TTL": "30", "FURROW_JOBS_REPOS": "tyk, tyk-pump", "FURROW_JOBS_EXTRA_VARS": "{ base = \"b\", n = 2 }",
            "FURROW_DNS_WAIT": "true", "FURROW_OWN_THING": "kept",
        ], sections: ConfigurationSection.known)
        #expect(Format.repr(configuration.value("jobs", "ttl")!) == "30")
        #expect(Format.repr(configuration.value("jobs", "repos")!) == "[\"tyk\", \"tyk-pump\"]")
        #expect(Format.repr(configuration.value("jobs", "extra_vars")!) == "{base: \"b\", n: 2}")
        #expect(Format.repr(configuration.value("dns", "wait")!) == "true")
        #expect(configuration.string("own", "thing") == "kept")
        #expect(throws: FurrowError.self) { try load(path, environment: ["FURROW_JOBS_TTL": "soon"], sections: ConfigurationSection.known) }
    }

    @Test func aModuleDeclaresASectionOfItsOwn() throws {
        let serve = ConfigurationSection("serve", [
            ConfigurationKey("port", .int, default: .int(8443), doc: "the port"),
            ConfigurationKey("host", .string, default: .string("127.0.0.1"), doc: "the address"),
        ])
        let configuration = try load(try write("[serve]\nport = 9000\nprot = 1\n"), sections: [serve])
        #expect(configuration.value("serve", "port").map(Format.repr) == "9000")
        #expect(configuration.value("serve", "host").map(Format.repr) == "\"127.0.0.1\"")
        #expect(configuration.warnings.count == 1 && configuration.warnings[0].hasSuffix("unknown key serve.prot (did you mean serve.port?)"))
    }

    /// The reference lists every key with the default its section declares.
    @Test func theReferenceListsEveryKeyWithItsDefault() throws {
        let docs = try String(contentsOf: Paths.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let rows = docs.split(separator: "\n").filter { $0.hasPrefix("| `") }
        for section in ConfigurationSection.known {
            for key in section.keys {
                let row = rows.first { $0.hasPrefix("| `\(section.name).\(key.name)` |") }
                #expect(row != nil, "docs/configuration.md has no row for \(section.name).\(key.name)")
                guard let row else { continue }
                let cell = row.split(separator: "|", omittingEmptySubsequences: false)[2].trimmingCharacters(in: .whitespaces)
                if let value = key.defaultValue {
                    #expect(cell == "`\(Format.repr(value))`", "\(section.name).\(key.name): the docs say \(cell), the default is \(Format.repr(value))")
                } else {
                    #expect(!cell.hasPrefix("`"), "\(section.name).\(key.name) has no default, the docs say \(cell)")
                }
            }
        }
    }

    @Test func aNULCharacterIsRefused() throws {
        let path = try write("a = 1\nb = \"x\0y\"\n")
        #expect { try load(path) } throws: { ($0 as? FurrowError)?.message.hasPrefix("\(path):2:") == true }
    }
}

/// Tables fill the width they are given (a terminal's), cutting the widest columns first.
@Suite struct TableWidthTests {
    let rows: [FurrowMap] = [
        ["name": .string("feat-a"), "state": .string("failed"), "detail": .string(String(repeating: "why ", count: 50))],
        ["name": .string("feat-long-name"), "state": .string("deployed"), "detail": .string("ok")],
    ]

    @Test func withoutALimitNothingIsCut() {
        let text = Format.table(rows, width: nil)
        #expect(text.contains(String(repeating: "why ", count: 49) + "why"))
        #expect(!text.contains("…"))
    }

    @Test(arguments: [40, 80, 200])
    func aLimitIsKeptByNarrowingTheWidestColumn(_ width: Int) {
        let lines = Format.table(rows, width: width).split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= width }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("feat-long-name  deployed") }, "narrow columns stay whole: \(lines)")
        #expect(lines[2].hasSuffix("…"))
    }

    @Test func aWideLimitCutsNothing() {
        #expect(Format.table(rows, width: 500) == Format.table(rows, width: nil))
    }
}
