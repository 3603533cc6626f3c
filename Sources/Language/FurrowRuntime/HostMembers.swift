/// One member of a host object type, declared once: its name, `:help` text, effect, and how
/// it is read. Lookup, completion, `:help` and the plan-mode tests all read the same list.
public struct HostMember<Object: HostObject> {
    public let name: String
    public let doc: String
    public let effect: Effect
    let kind: Kind

    enum Kind {
        case property((Object, Fiber) throws(FurrowError) -> Value)
        case method(parameters: [String], required: Int, body: (Object, [Value?], Arguments) throws(FurrowError) -> Value)
    }

    /// A value read as `object.name` (a field, or one computed when read).
    public static func property(
        _ name: String, doc: String = "", _ read: @escaping (Object, Fiber) throws(FurrowError) -> Value
    ) -> HostMember {
        HostMember(name: name, doc: doc, effect: .reads, kind: .property(read))
    }

    /// A method called as `object.name(...)`; arguments bind by position or name, and the
    /// body receives them in parameter order (nil for an omitted optional one).
    public static func method(
        _ name: String, _ parameters: [String] = [], required: Int? = nil, effect: Effect = .reads, doc: String,
        _ body: @escaping (Object, [Value?], Arguments) throws(FurrowError) -> Value
    ) -> HostMember {
        HostMember(name: name, doc: doc, effect: effect, kind: .method(parameters: parameters, required: required ?? parameters.count, body: body))
    }
}

/// Every member of one host object type.
public struct HostMembers<Object: HostObject>: @unchecked Sendable {
    public let typeName: String
    private let members: [HostMember<Object>]
    private let index: [String: Int]

    public init(_ typeName: String, _ members: [HostMember<Object>]) {
        self.typeName = typeName
        self.members = members
        var index: [String: Int] = [:]
        for (i, member) in members.enumerated() {
            precondition(index[member.name] == nil, "\(typeName).\(member.name) is declared twice")
            index[member.name] = i
        }
        self.index = index
    }

    /// Member names in declaration order (what completion offers).
    public var names: [String] { members.map(\.name) }

    /// The member `name` of `object`, a bound method for methods; nil when there is none.
    /// `qualifier` names the object in argument errors (`StateDryRun.put()`); the member's
    /// own name is used when it is nil.
    public func member(of object: Object, _ name: String, fiber: Fiber, qualifier: String? = nil) throws(FurrowError) -> Value? {
        guard let i = index[name] else { return nil }
        let member = members[i]
        switch member.kind {
        case .property(let read):
            return try read(object, fiber)
        case .method(let parameters, let required, let body):
            let display = qualifier.map { "\($0).\(name)" } ?? name
            return .function(NativeFunction(display, doc: member.doc, parameters: parameters, effect: member.effect) {
                (args: Arguments) throws(FurrowError) -> Value in
                var bound = try args.bind(display, parameters, required: required)
                // as for every builtin, a lazy list (a query over a table scan) is the list it is
                for i in bound.indices {
                    if case .host(let lazy as ValueSequence)? = bound[i] { bound[i] = .list(try lazy.items(args.fiber)) }
                }
                return try body(object, bound, args)
            })
        }
    }

    /// The type as the interpreter lists it (`Interpreter.register(_:)`).
    public var description: HostType {
        HostType(name: typeName, members: members.map { member in
            let isMethod: Bool
            if case .method = member.kind { isMethod = true } else { isMethod = false }
            return HostType.Member(name: member.name, doc: member.doc, effect: member.effect, isMethod: isMethod)
        })
    }
}

/// A host object type's members without their code: for `:help type.member` and for tests
/// that go through every mutating method.
public struct HostType: Sendable {
    public struct Member: Sendable {
        public let name: String
        public let doc: String
        public let effect: Effect
        public let isMethod: Bool
    }

    public let name: String
    public let members: [Member]
}
