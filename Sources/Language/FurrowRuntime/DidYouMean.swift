/// "Did you mean" suggestions: the nearest known name to a misspelt one.
public enum DidYouMean {
    /// The candidate closest to `name` by edit distance, when it is close enough to be a
    /// likely typo (about one edit in four characters).
    public static func nearest(_ name: String, among candidates: some Sequence<String>) -> String? {
        var best: (name: String, distance: Int)?
        let limit = max(1, name.count / 4)
        for candidate in candidates where candidate != name {
            let d = Compiler.editDistance(candidate, name)
            if d <= limit, best.map({ d < $0.distance || (d == $0.distance && candidate < $0.name) }) ?? true {
                best = (candidate, d)
            }
        }
        return best?.name
    }

    /// ` (did you mean 'x'?)`, or nothing.
    public static func hint(_ name: String, among candidates: some Sequence<String>, prefix: String = "") -> String {
        nearest(name, among: candidates).map { " (did you mean '\(prefix)\($0)'?)" } ?? ""
    }
}
