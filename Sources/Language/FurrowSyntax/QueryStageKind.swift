/// The query stages that may follow `|` (docs/language.md, "Queries"): the one list the
/// parser, the compiler, the evaluator and completion read.
public enum QueryStageKind: String, CaseIterable, Sendable {
    case `where`, reject, select, map
    case flatMap = "flat_map"
    case each
    case sortBy = "sort_by"
    case groupBy = "group_by"
    case countBy = "count_by"
    case uniqBy = "uniq_by"
    case take, skip, first, last, count, sum, min, max, any, all, join

    /// What a stage's arguments are.
    public enum ArgumentForm: Sendable {
        /// take, skip, join: plain expressions, evaluated once.
        case values
        /// select: output fields, each an item expression.
        case fields
        /// The others: one item expression of `it`, which some stages cannot do without.
        case item(required: Bool)
    }

    public var argumentForm: ArgumentForm {
        switch self {
        case .take, .skip, .join: return .values
        case .select: return .fields
        case .where, .reject, .map, .flatMap, .each, .groupBy, .countBy, .uniqBy, .any, .all: return .item(required: true)
        case .sortBy, .first, .last, .count, .sum, .min, .max: return .item(required: false)
        }
    }
}
