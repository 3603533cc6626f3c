import FurrowHTTP
import Testing

struct RouterTests {
    func router(_ routes: [(String, String)]) throws -> Router {
        var router = Router()
        for (index, (method, pattern)) in routes.enumerated() { try router.add(method: method, pattern: pattern, index: index) }
        return router
    }

    @Test func literalsBeatParametersAndMethodsAreChecked() throws {
        let r = try router([("GET", "/environments/{name}"), ("GET", "/environments/all"), ("DELETE", "/environments/{name}"), ("POST", "/newbuild")])
        guard case .found(let route, let parameters) = r.match(method: "GET", path: "/environments/feat-x") else { Issue.record("no match"); return }
        #expect(route.index == 0)
        #expect(parameters.map(\.value) == ["feat-x"])
        guard case .found(let all, _) = r.match(method: "GET", path: "/environments/all/") else { Issue.record("no match"); return }
        #expect(all.index == 1)
        guard case .methodNotAllowed(let allowed) = r.match(method: "PUT", path: "/environments/x") else { Issue.record("not 405"); return }
        #expect(allowed == ["DELETE", "GET"])
        guard case .found(let head, _) = r.match(method: "HEAD", path: "/environments/x") else { Issue.record("HEAD is not served by GET"); return }
        #expect(head.method == "GET")
        guard case .notFound = r.match(method: "GET", path: "/environments/a/b") else { Issue.record("found too much"); return }
    }

    @Test func badPatternsAreRefused() {
        #expect(throws: Router.RouteError.self) { try router([("GET", "no-slash")]) }
        #expect(throws: Router.RouteError.self) { try router([("GET", "/a/{x}/{x}")]) }
        #expect(throws: Router.RouteError.self) { try router([("GET", "/a/b{x}")]) }
        #expect(throws: Router.RouteError.self) { try router([("GET", "/a/{x}"), ("GET", "/a/{y}")]) }
    }

    @Test func targetsAreSplitAndDecoded() {
        let (path, query) = HTTPServerRequest.splitTarget("/env/h%C3%A9?a=1&b=x+y&c&d=%2F")
        #expect(path == "/env/hé")
        #expect(query.map { "\($0.name)=\($0.value)" } == ["a=1", "b=x y", "c=", "d=/"])
    }

    @Test func credentialsAndQueriesAreNotShown() {
        #expect(HTTPFetcher.redactedURL("https://user:pw@example.com/x?token=abc") == "https://***@example.com/x?…")
        #expect(HTTPFetcher.redactedURL("http://127.0.0.1:80/a@b") == "http://127.0.0.1:80/a@b")
    }
}
