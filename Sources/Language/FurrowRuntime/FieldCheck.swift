import Foundation
import FurrowSyntax

/// Notices a misspelt field in a query stage: `where .stat == "new"` over items that all
/// have `state` reads null everywhere and silently keeps nothing. When a field the stage
/// reads is in no item while an item has a field of a similar name, it warns (once per
/// stage) with the likely name. The result stays what it is.
final class FieldCheck: @unchecked Sendable {
    let fields: [(name: String, location: SourceLocation)]
    private let lock = NSLock()
    private var warned = false

    init?(_ arguments: [QueryArgument], file: SourceFile) {
        var found: [(String, SourceLocation)] = []
        for argument in arguments { FieldCheck.collect(argument.value, file, into: &found) }
        guard !found.isEmpty else { return nil }
        fields = found
    }

    /// The `.field` reads of the stage's own item (not those of nested stages or lambdas).
    static func collect(_ e: Expr, _ file: SourceFile, into found: inout [(String, SourceLocation)]) {
        switch e.kind {
        case .itemField(let name):
            if !found.contains(where: { $0.0 == name }) { found.append((name, SourceLocation(file: file, span: e.span))) }
        case .unary(_, let x), .member(let x, _, _): collect(x, file, into: &found)
        case .binary(_, let a, let b), .index(let a, let b), .range(let a, let b, _):
            collect(a, file, into: &found)
            collect(b, file, into: &found)
        case .call(let callee, let arguments):
            collect(callee, file, into: &found)
            for argument in arguments { collect(argument.value, file, into: &found) }
        case .list(let elements): for x in elements { collect(x, file, into: &found) }
        case .map(let entries): for entry in entries { collect(entry.value, file, into: &found) }
        case .template(let parts): for case .expr(let x) in parts { collect(x, file, into: &found) }
        case .pipe(let input, _): collect(input, file, into: &found)
        default: break
        }
    }

    /// Looks at the stage's input list after the stage ran. Usually the first item has the
    /// field, so this costs a lookup per field.
    func inspect(_ items: [Value], _ f: Fiber) {
        lock.lock()
        let done = warned
        lock.unlock()
        if done { return }
        for field in fields {
            var sawMap = false
            for item in items {
                guard case .map(let m) = item else { continue }
                if m[field.name] != nil { sawMap = false; break }
                sawMap = true
            }
            guard sawMap else { continue }
            var names = Set<String>()
            var looked = 0
            for item in items where looked < 100 {
                if case .map(let m) = item { names.formUnion(m.keys); looked += 1 }
            }
            guard let near = DidYouMean.nearest(field.name, among: names) else { continue }
            lock.lock()
            let first = !warned
            warned = true
            lock.unlock()
            guard first else { return }
            f.interpreter.log.write(
                level: "warn", message: "no item has the field '\(field.name)' (did you mean '\(near)'?)",
                fields: [("at", .string(field.location.description))])
            return
        }
    }
}
