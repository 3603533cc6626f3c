/// The bounds that keep every script finite in memory, time, threads and native stack
/// (docs/language.md, "Limits"). Each one turns what would be a crash, a hang or an
/// exhausted machine into a Furrow error with a location.
public enum Limits {
    /// Items a range may be turned into a list of (by `sorted`, `map`, `json.encode`...):
    /// 100 million ints are 2.4 GB, and more would exhaust memory instead of failing.
    /// Loops and the stages that do not keep every item (`first`, `take`, `count`, `where`,
    /// `in`, `==`) walk a range of any length without building a list.
    public static let rangeListItems = 100_000_000

    /// Bytes of the string `s * n` may build: beyond this, repetition is a `value` error
    /// rather than an allocation that grows without end.
    public static let repeatedStringBytes = 100_000_000

    /// `parallel` worker threads alive at once in the whole process. Each thread reserves
    /// a 256 MB stack, so nested `parallel` calls could otherwise start thousands; tasks
    /// beyond the bound run on the calling thread.
    public static let parallelThreads = 64

    /// Seconds one regular-expression match may take. Patterns with nested repetition
    /// (`(a+)+$`) backtrack exponentially; past this they fail with a `timeout` error.
    public static let regexMatchTime = 2.0

    /// Items a table scan reads per page: a page is held in memory (and the stores size
    /// their buffers by it), so an enormous `page_size` would allocate without bound.
    public static let scanPageSize = 10_000

    /// Levels of nested lists and maps that `repr` shows (deeper ones print as `[…]`) and
    /// `json.encode` and terraform variables accept: they recurse on the native stack.
    /// (Comparing and freeing values walk them in loops, at any depth. State items have a
    /// lower bound of their own, DynamoDB's 32 levels: `StateItemRules.maximumNesting`.)
    public static let valueNesting = 10_000

    /// Lazy stages (`where`, `reject`, `map`, `select` over a table scan) one lazy list may
    /// stand on: reading it and freeing it recurse through each of them, so a chain built in
    /// a loop (`s = s | map it`) would otherwise overflow the native stack. The check is one
    /// integer per stage made, none per item; stages over lists are not lazy and not bounded.
    public static let lazyStages = 10_000
}
