import FurrowJSON
import FurrowSQLite

/// Translates the comparisons of a `StateFilter` into an SQL condition over the stored item JSON
/// (column `item`), with exactly the meaning of `StateComparison.matches`. Comparisons SQL cannot
/// express faithfully (against lists or maps, odd attribute names) are left for Swift to apply.
struct SQLiteFilterCompiler {
    /// An SQL boolean expression (never NULL), "1" when nothing was pushed down.
    var sql = "1"
    var parameters: [SQLiteValue] = []
    /// Comparisons to apply in Swift after reading.
    var residual: [StateComparison] = []

    /// `keyAttribute` names the table's key, whose comparisons with strings use the indexed `key`
    /// column (so `.name == "feat-x"` reads one row).
    init(_ filter: StateFilter?, keyAttribute: String) {
        var clauses: [String] = []
        for comparison in filter?.comparisons ?? [] {
            if comparison.path == [keyAttribute], case .string(let key) = comparison.value {
                // Keys are always strings, compared by bytes in the column as in the item.
                let sqlOperator = comparison.comparison == .equal ? "=" : comparison.comparison.rawValue
                clauses.append("key \(sqlOperator) ?")
                parameters.append(.text(key))
            } else if let (clause, values) = SQLiteFilterCompiler.clause(for: comparison) {
                clauses.append(clause)
                parameters += values
            } else {
                residual.append(comparison)
            }
        }
        if !clauses.isEmpty { sql = clauses.joined(separator: " AND ") }
    }

    var residualFilter: StateFilter? { residual.isEmpty ? nil : StateFilter(residual) }

    private static func clause(for comparison: StateComparison) -> (String, [SQLiteValue])? {
        guard let path = jsonPath(comparison.path) else { return nil }
        let p = SQLiteValue.text(path)
        let isEquality = comparison.comparison == .equal || comparison.comparison == .notEqual
        let sqlOperator: String
        switch comparison.comparison {
        case .equal, .notEqual: sqlOperator = "="
        case .less: sqlOperator = "<"
        case .lessOrEqual: sqlOperator = "<="
        case .greater: sqlOperator = ">"
        case .greaterOrEqual: sqlOperator = ">="
        }
        // `json_type` is NULL for an absent field; `IS` and `coalesce` keep every test true or false.
        let test: String
        let values: [SQLiteValue]
        // An ordering keeps every item whose field is of another kind (see `StateComparison.matches`).
        switch comparison.value {
        case .string(let s):
            test = isEquality
                ? "(json_type(item, ?) IS 'text' AND json_extract(item, ?) \(sqlOperator) ?)"
                : "(json_type(item, ?) IS NOT 'text' OR json_extract(item, ?) \(sqlOperator) ?)"
            values = [p, p, .text(s)]
        case .int(let i):
            test = numberTest(isEquality, sqlOperator)
            values = [p, p, .integer(i)]
        case .double(let d):
            guard d.isFinite else { return nil }
            test = numberTest(isEquality, sqlOperator)
            values = [p, p, .real(d)]
        case .bool(let b):
            guard isEquality else { return ("1", []) }
            test = b ? "(json_type(item, ?) IS 'true')" : "(json_type(item, ?) IS 'false')"
            values = [p]
        case .null:
            guard isEquality else { return ("1", []) }
            test = "(coalesce(json_type(item, ?), 'null') = 'null')"
            values = [p]
        case .array, .object:
            return nil
        }
        if comparison.comparison == .equal, let needle = textNeedle(comparison) {
            // Cheap byte search first, so JSON is parsed only for rows that can match.
            return ("(instr(item, ?) > 0 AND \(test))", [.text(needle)] + values)
        }
        return (comparison.comparison == .notEqual ? "NOT \(test)" : test, values)
    }

    private static func numberTest(_ isEquality: Bool, _ sqlOperator: String) -> String {
        isEquality
            ? "(coalesce(json_type(item, ?), '') IN ('integer', 'real') AND json_extract(item, ?) \(sqlOperator) ?)"
            : "(coalesce(json_type(item, ?), '') NOT IN ('integer', 'real') OR json_extract(item, ?) \(sqlOperator) ?)"
    }

    /// Text that the stored (canonical, compact) JSON of every item matching `comparison` contains:
    /// `"name":"value"` for a string or bool, whose encoding is unique. Numbers have several forms
    /// (3 and 3.0 are equal), so they get none.
    private static func textNeedle(_ comparison: StateComparison) -> String? {
        guard let name = comparison.path.last else { return nil }
        switch comparison.value {
        case .string, .bool: return JSONValue.string(name).encoded() + ":" + comparison.value.encoded()
        default: return nil
        }
    }

    /// `$."a"."b"`; nil for names SQLite's JSON path syntax cannot quote.
    private static func jsonPath(_ names: [String]) -> String? {
        guard !names.isEmpty else { return nil }
        var path = "$"
        for name in names {
            guard !name.isEmpty, !name.contains("\""), !name.contains("\\") else { return nil }
            path += ".\"\(name)\""
        }
        return path
    }
}
