import Foundation
import FurrowJSON
import FurrowTestSupport
import Testing

@testable import FurrowAWS

/// A client configuration for a local server, with quick retries.
func localConfiguration(_ server: LocalAWSServer, maxAttempts: Int = 3) -> AWSConfiguration {
    AWSConfiguration(
        region: LocalAWSServer.region, endpoint: server.endpoint,
        credentials: AWSCredentials(
            accessKeyId: LocalAWSServer.accessKeyId, secretAccessKey: LocalAWSServer.secretAccessKey),
        retry: AWSRetryPolicy(maxAttempts: maxAttempts, baseDelay: 0.05, maxDelay: 0.5), requestTimeout: 30)
}

/// The AWSError a call throws, or a recorded issue when it succeeds or throws something else.
func awsError(_ body: () throws -> Void) -> AWSError? {
    do {
        try body()
        Issue.record("expected an AWSError, the call succeeded")
    } catch let error as AWSError {
        return error
    } catch {
        Issue.record("expected an AWSError, got \(error)")
    }
    return nil
}

/// Each test gets its own local AWS server (started in init, stopped in deinit).
@Suite(.serialized) final class DynamoDBIntegrationTests {
    let server: LocalAWSServer
    let dynamo: DynamoDBClient

    init() throws {
        server = try LocalAWSServer()
        dynamo = DynamoDBClient(configuration: localConfiguration(server))
    }

    deinit { server.stop() }

    @Test func tablesAreCreatedActiveAndListed() throws {
        let table = try dynamo.createTable(name: "DeveloperEnvironments", keyAttribute: "name")
        #expect(table["TableStatus"] == "ACTIVE")
        #expect(table["KeySchema"]?[0]?["AttributeName"] == "name")
        #expect(table["BillingModeSummary"]?["BillingMode"] == "PAY_PER_REQUEST")
        for i in 0..<120 { try dynamo.createTable(name: String(format: "t%03d", i), keyAttribute: "id") }
        let names = try dynamo.listTables()
        #expect(names.count == 121)
        #expect(Set(names).contains("DeveloperEnvironments") && Set(names).contains("t119"))

        let again = awsError { try self.dynamo.createTable(name: "DeveloperEnvironments", keyAttribute: "name") }
        #expect(again?.kind == .alreadyExists)
        let missing = awsError { _ = try self.dynamo.describeTable(name: "Missing") }
        #expect(missing?.kind == .notFound)
        #expect(missing?.code == "ResourceNotFoundException")
        #expect(missing?.operation == "DescribeTable")
        #expect(missing?.httpStatus == 400)
    }

    @Test func conditionalWritesSucceedOrConflict() throws {
        try dynamo.createTable(name: "Envs", keyAttribute: "name")
        let item: JSONValue = ["name": "feat-x", "state": "new", "version": 1, "tyk": "sha-1a2b", "ratio": 0.5]
        try dynamo.putItem(table: "Envs", item: item, condition: .attributeNotExists("name"))
        #expect(try dynamo.getItem(table: "Envs", key: ["name": "feat-x"]) == item)
        #expect(try dynamo.getItem(table: "Envs", key: ["name": "nope"]) == nil)

        let duplicate = awsError {
            try self.dynamo.putItem(table: "Envs", item: ["name": "feat-x"], condition: .attributeNotExists("name"))
        }
        #expect(duplicate?.kind == .conditionalCheckFailed)
        #expect(duplicate?.code == "ConditionalCheckFailedException")

        // A state move conditional on the state and version read.
        let updated = try dynamo.updateItem(
            table: "Envs", key: ["name": "feat-x"], set: ["name": "feat-x", "state": "deploying", "version": 2],
            remove: ["ratio"], condition: .equals(["state": "new", "version": 1]))
        #expect(updated == ["name": "feat-x", "state": "deploying", "version": 2, "tyk": "sha-1a2b"])

        // The same move again is stale: conflict, and nothing changes.
        let stale = awsError {
            try self.dynamo.updateItem(
                table: "Envs", key: ["name": "feat-x"], set: ["state": "failed"],
                condition: .equals(["state": "new", "version": 1]))
        }
        #expect(stale?.kind == .conditionalCheckFailed)
        #expect(try dynamo.getItem(table: "Envs", key: ["name": "feat-x"])?["state"] == "deploying")

        // Conditions combine, and an update of a missing item guarded by existence conflicts.
        let guarded = awsError {
            try self.dynamo.updateItem(
                table: "Envs", key: ["name": "ghost"], set: ["state": "new"],
                condition: DynamoDBExpression.attributeExists("name").and(.equals(["state": "deleted"])))
        }
        #expect(guarded?.kind == .conditionalCheckFailed)
        #expect(try dynamo.getItem(table: "Envs", key: ["name": "ghost"]) == nil)

        // Deletes: refused under a wrong state, done under the right one.
        let refused = awsError {
            try self.dynamo.deleteItem(table: "Envs", key: ["name": "feat-x"], condition: .equals(["state": "reaping"]))
        }
        #expect(refused?.kind == .conditionalCheckFailed)
        let deleted = try dynamo.deleteItem(
            table: "Envs", key: ["name": "feat-x"], condition: .equals(["state": "deploying"]))
        #expect(deleted?["version"] == 2)
        #expect(try dynamo.getItem(table: "Envs", key: ["name": "feat-x"]) == nil)
        #expect(try dynamo.deleteItem(table: "Envs", key: ["name": "feat-x"]) == nil)

        let noTable = awsError { try self.dynamo.putItem(table: "Missing", item: ["name": "x"]) }
        #expect(noTable?.kind == .notFound)
        let badKey = awsError { _ = try self.dynamo.getItem(table: "Envs", key: ["wrong": "x"]) }
        #expect(badKey?.kind == .validation)
    }

    /// Conditional writes to one item take effect one at a time, as in DynamoDB: of six clients released at once
    /// to claim an unowned item, exactly one wins, in every round. (Every lease and claim in Furrow rests on this.)
    @Test func racingConditionalUpdatesOfOneItemHaveOneWinner() throws {
        try dynamo.createTable(name: "Claims", keyAttribute: "name")
        let dynamo = dynamo
        let racers = 6
        var roundsWithoutOneWinner: [String] = []
        for round in 0..<150 {
            try dynamo.putItem(table: "Claims", item: ["name": "race"])
            let startLine = StartLine()
            let winners = FailureList()
            let failures = FailureList()
            let finished = DispatchGroup()
            for racer in 0..<racers {
                finished.enter()
                Thread {
                    startLine.wait()
                    do {
                        try dynamo.updateItem(
                            table: "Claims", key: ["name": "race"], set: ["owner": .string("racer-\(racer)")],
                            condition: .attributeNotExists("owner"))
                        winners.add("racer-\(racer)")
                    } catch let error as AWSError where error.kind == .conditionalCheckFailed {
                    } catch {
                        failures.add("\(error)")
                    }
                    finished.leave()
                }.start()
            }
            startLine.release()
            finished.wait()
            #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
            let owner = try dynamo.getItem(table: "Claims", key: ["name": "race"])?["owner"]?.stringValue
            if winners.all.count != 1 || winners.all.first != owner {
                roundsWithoutOneWinner.append("round \(round): winners \(winners.all), owner \(owner ?? "none")")
            }
        }
        #expect(roundsWithoutOneWinner.isEmpty, "\(roundsWithoutOneWinner)")
    }

    @Test func scansPaginateFilterAndStopEarly() throws {
        try dynamo.createTable(name: "Big", keyAttribute: "name")
        let count = 2_500
        // Written from eight threads at once through one client.
        let failures = FailureList()
        let dynamo = dynamo
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in stride(from: worker, to: count, by: 8) {
                do {
                    try dynamo.putItem(
                        table: "Big",
                        item: [
                            "name": .string("env-\(i)"), "state": i % 5 == 0 ? "new" : "deployed", "n": .int(Int64(i)),
                        ])
                } catch { failures.add("\(i): \(error)") }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")

        var pages = 0
        var names = Set<String>()
        try dynamo.scan(table: "Big", pageLimit: 100) { page in
            pages += 1
            #expect(page.items.count <= 100)
            names.formUnion(page.items.compactMap { $0["name"]?.stringValue })
            return true
        }
        #expect(pages >= 25)
        #expect(names.count == count)

        let fresh = try dynamo.scanAll(table: "Big", filter: .equals(["state": "new"]))
        #expect(fresh.count == count / 5)
        #expect(fresh.allSatisfy { $0["state"] == "new" && ($0["n"]?.intValue ?? 1) % 5 == 0 })

        var filteredPages = 0
        var filtered = 0
        try dynamo.scan(table: "Big", filter: .equals(["state": "new"]), pageLimit: 300) { page in
            filteredPages += 1
            filtered += page.items.count
            return true
        }
        #expect(filteredPages >= 9)
        #expect(filtered == count / 5)

        var visited = 0
        try dynamo.scan(table: "Big", pageLimit: 50) { _ in
            visited += 1
            return visited < 3
        }
        #expect(visited == 3)

        let first = try dynamo.scanPage(table: "Big", limit: 10)
        #expect(first.items.count == 10)
        let key = try #require(first.lastEvaluatedKey)
        let second = try dynamo.scanPage(table: "Big", limit: 10, startKey: key)
        #expect(Set(second.items.compactMap { $0["name"] }).isDisjoint(with: first.items.compactMap { $0["name"] }))
    }
}

/// Holds threads until it is released, so they start their work at the same moment.
final class StartLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var released = false
    func wait() {
        condition.lock()
        while !released { condition.wait() }
        condition.unlock()
    }
    func release() {
        condition.lock()
        released = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Collects failures (or any strings) from several threads.
final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var failures: [String] = []
    func add(_ failure: String) { lock.withLock { failures.append(failure) } }
    var all: [String] { lock.withLock { failures } }
}

@Suite(.serialized) final class Route53IntegrationTests {
    let server: LocalAWSServer
    let route53: Route53Client

    init() throws {
        server = try LocalAWSServer()
        route53 = Route53Client(configuration: localConfiguration(server))
    }

    deinit { server.stop() }

    @Test func zonesAreFoundByExactName() throws {
        #expect(try route53.hostedZone(named: "example.test") == nil)
        let zone = try route53.createHostedZone(name: "example.test")
        #expect(zone.name == "example.test.")
        #expect(!zone.id.contains("/"))
        _ = try route53.createHostedZone(name: "sub.example.test.")
        _ = try route53.createHostedZone(name: "aaa.test")
        #expect(try route53.hostedZone(named: "example.test")?.id == zone.id)
        #expect(try route53.hostedZone(named: "EXAMPLE.test.")?.id == zone.id)
        #expect(try route53.hostedZone(named: "sub.example.test")?.name == "sub.example.test.")
        #expect(try route53.hostedZone(named: "ample.test") == nil)
        #expect(try route53.hostedZone(named: "zzz.test") == nil)

        try route53.deleteHostedZone(id: zone.id)
        #expect(try route53.hostedZone(named: "example.test") == nil)
        let gone = awsError { _ = try self.route53.listResourceRecordSets(zoneId: zone.id) }
        #expect(gone?.kind == .notFound)
        #expect(gone?.code == "NoSuchHostedZone")
    }

    @Test func changeBatchesListPagesAndDeletes() throws {
        let zone = try route53.createHostedZone(name: "dev.example.test")
        let records = (0..<350).map { i in
            Route53RecordSet(
                name: "tyk.env\(i).dev.example.test", type: "A", ttl: 60, values: ["10.0.\(i / 256).\(i % 256)"])
        }
        for batch in stride(from: 0, to: records.count, by: 175) {
            let changeId = try route53.changeResourceRecordSets(
                zoneId: zone.id,
                changes: records[batch..<min(batch + 175, records.count)].map { Route53Change(.create, $0) },
                comment: "furrow test <batch \(batch)>")
            try route53.waitForChange(id: changeId, timeout: 30)
            #expect(try route53.getChange(id: changeId) == "INSYNC")
        }
        let special = [
            Route53RecordSet(name: "*.wild.dev.example.test", type: "A", ttl: 30, values: ["10.9.9.9"]),
            Route53RecordSet(
                name: "txt.dev.example.test", type: "TXT", ttl: 300, values: ["\"owner=chitragupta <&> ok\""]),
            Route53RecordSet(name: "multi.dev.example.test", type: "A", ttl: 10, values: ["10.1.1.1", "10.1.1.2"]),
        ]
        _ = try route53.changeResourceRecordSets(zoneId: zone.id, changes: special.map { Route53Change(.upsert, $0) })

        let listed = try route53.listResourceRecordSets(zoneId: zone.id)
        #expect(listed.count == 350 + 3 + 2)  // plus the zone's SOA and NS
        #expect(Set(listed.filter { $0.type == "A" && $0.name.hasPrefix("tyk.") }) == Set(records))
        for record in special { #expect(listed.contains(record), "\(record)") }
        #expect(listed.contains { $0.type == "SOA" } && listed.contains { $0.type == "NS" })

        // UPSERT replaces, DELETE needs the exact record, and both may share one batch.
        let moved = Route53RecordSet(name: "tyk.env0.dev.example.test", type: "A", ttl: 10, values: ["10.7.7.7"])
        _ = try route53.changeResourceRecordSets(
            zoneId: zone.id,
            changes: [Route53Change(.upsert, moved)] + records[1..<100].map { Route53Change(.delete, $0) })
        let after = try route53.listResourceRecordSets(zoneId: zone.id)
        #expect(after.count == listed.count - 99)
        #expect(after.contains(moved))
        #expect(!after.contains(records[0]) && !after.contains(records[1]) && after.contains(records[100]))

        let wrongDelete = awsError {
            _ = try self.route53.changeResourceRecordSets(
                zoneId: zone.id,
                changes: [
                    Route53Change(
                        .delete,
                        Route53RecordSet(
                            name: "tyk.env200.dev.example.test", type: "A", ttl: 999, values: ["10.0.0.200"]))
                ])
        }
        #expect(wrongDelete?.kind == .validation)
        // Route53 answers InvalidChangeBatch; the local server InvalidInput.
        #expect(["InvalidChangeBatch", "InvalidInput"].contains(wrongDelete?.code ?? ""))
        #expect(wrongDelete?.message.isEmpty == false)

        // Empty the zone (all but SOA and NS) and delete it.
        let owned = after.filter { $0.type != "SOA" && $0.type != "NS" }
        for batch in stride(from: 0, to: owned.count, by: 200) {
            _ = try route53.changeResourceRecordSets(
                zoneId: zone.id,
                changes: owned[batch..<min(batch + 200, owned.count)].map { Route53Change(.delete, $0) })
        }
        #expect(try route53.listResourceRecordSets(zoneId: zone.id).count == 2)
        try route53.deleteHostedZone(id: zone.id)
    }

    @Test func recordSetsConvertToJSON() {
        let record = Route53RecordSet(name: "a.example.test", type: "a", ttl: 60, values: ["10.0.0.1"])
        #expect(record.jsonValue == ["name": "a.example.test.", "type": "A", "ttl": 60, "values": ["10.0.0.1"]])
    }
}

@Suite(.serialized) final class ECRIntegrationTests {
    let server: LocalAWSServer
    let ecr: ECRClient

    init() throws {
        server = try LocalAWSServer()
        ecr = ECRClient(configuration: localConfiguration(server))
    }

    deinit { server.stop() }

    @Test func imageTagsAreFoundOrNot() throws {
        try ecr.createRepository(name: "tyk-analytics")
        let digest = try ecr.putImage(repository: "tyk-analytics", tag: "sha-1a2b", manifest: LocalAWSServer.imageManifest)
        #expect(digest.hasPrefix("sha256:"))
        #expect(try ecr.imageTagExists(repository: "tyk-analytics", tag: "sha-1a2b"))
        #expect(try !ecr.imageTagExists(repository: "tyk-analytics", tag: "master"))
        #expect(try ecr.imageTags(repository: "tyk-analytics") == ["sha-1a2b"])

        let missing = awsError { _ = try self.ecr.imageTagExists(repository: "no-such-repo", tag: "master") }
        #expect(missing?.kind == .notFound)
        #expect(missing?.code == "RepositoryNotFoundException")
        try ecr.deleteRepository(name: "tyk-analytics")
    }
}

/// A tiny HTTP server answering each POST with the next scripted response (the last repeats): a stand-in for a
/// throttling or broken service, which the local AWS server cannot play.
final class ScriptedHTTPServer {
    let port: Int
    private let process = Process()

    init(responses: [(status: Int, body: String)]) throws {
        port = try LocalAWSServer.freePort()
        let script = """
            import http.server, json, os, signal, sys, threading, time
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            parent = os.getppid()
            def watch():
                while os.getppid() == parent:
                    time.sleep(0.5)
                os._exit(0)
            threading.Thread(target=watch, daemon=True).start()
            responses = json.loads(sys.argv[2])
            served = [0]
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    status, body = responses[min(served[0], len(responses) - 1)]
                    served[0] += 1
                    data = body.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-amz-json-1.0")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                def log_message(self, *args):
                    pass
            http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
            """
        let scripted = JSONValue.array(responses.map { [.int(Int64($0.status)), .string($0.body)] }).encoded()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, String(port), scripted]
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while !LocalAWSServer.accepts(port: port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw LocalAWSServer.StartError(message: "scripted server did not start")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    var configuration: AWSConfiguration {
        AWSConfiguration(
            region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:\(port)")!,
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            retry: AWSRetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05), requestTimeout: 10)
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }
}

@Suite struct FailureIntegrationTests {
    @Test func unreachableEndpointIsATransportErrorAfterRetries() throws {
        let port = try LocalAWSServer.freePort()  // nothing listens there now
        let configuration = AWSConfiguration(
            region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:\(port)")!,
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            retry: AWSRetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05), requestTimeout: 5)
        let error = awsError { _ = try DynamoDBClient(configuration: configuration).listTables() }
        #expect(error?.kind == .transport)
        #expect(error?.attempts == 3)
        #expect(error?.operation == "ListTables")
        #expect(
            error?.description
                == "dynamodb ListTables failed: cannot connect (connection refused) (http://127.0.0.1:\(port)) [after 3 attempts]"
        )
    }

    @Test func unknownCredentialsAreAnAuthError() throws {
        // With authentication switched on, the server knows no access keys but those created through its IAM.
        let server = try LocalAWSServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"])
        defer { server.stop() }
        var configuration = localConfiguration(server)
        configuration.credentials = AWSCredentials(accessKeyId: "AKIDUNKNOWN", secretAccessKey: "NEVERSHOWNSECRET")
        let error = awsError { _ = try DynamoDBClient(configuration: configuration).listTables() }
        #expect(error?.kind == .accessDenied)
        #expect(error?.code == "InvalidClientTokenId")
        #expect(error?.httpStatus == 403)
        #expect(error?.attempts == 1)
        #expect(error?.description.contains("NEVERSHOWNSECRET") == false)
    }

    /// With authentication on, the server verifies each signature against the secret of a key made through its IAM:
    /// an independent check of the signer on both the JSON and the REST/XML protocols.
    @Test func theServerVerifiesOurSignatures() throws {
        let server = try LocalAWSServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"])
        defer { server.stop() }
        let iam = AWSHTTPClient(configuration: localConfiguration(server, maxAttempts: 1))
        let iamService = AWSService(signingName: "iam", fixedRegion: "us-east-1") { _ in "iam.amazonaws.com" }
        func iamCall(_ parameters: [(String, String)]) throws -> XMLNode {
            let form = (parameters + [("Version", "2010-05-08")])
                .map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }.joined(separator: "&")
            let request = AWSRequest(
                method: "POST", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)
            )
            return try XMLNode.parse(try iam.send(request, to: iamService, operation: parameters[0].1).body)
        }
        _ = try iamCall([("Action", "CreateUser"), ("UserName", "furrow")])
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try iamCall([
            ("Action", "PutUserPolicy"), ("UserName", "furrow"), ("PolicyName", "all"), ("PolicyDocument", policy),
        ])
        let key = try iamCall([("Action", "CreateAccessKey"), ("UserName", "furrow")])
        let keyId = try #require(key.first("AccessKeyId")?.text)
        let secret = try #require(key.first("SecretAccessKey")?.text)

        var configuration = localConfiguration(server)
        configuration.credentials = AWSCredentials(accessKeyId: keyId, secretAccessKey: secret)
        let dynamo = DynamoDBClient(configuration: configuration)
        try dynamo.createTable(name: "Signed", keyAttribute: "name")
        try dynamo.putItem(table: "Signed", item: ["name": "a b/c?d=e&f", "note": "ünïcode"])
        #expect(try dynamo.listTables() == ["Signed"])
        // Only requests with a body: for a bodiless GET or DELETE the server's check hashes the query parameters (or,
        // without a query, the headers) as if they were the body, so it refuses them however they are signed.
        let route53 = Route53Client(configuration: configuration)
        let zone = try route53.createHostedZone(name: "signed.test")
        let change = try route53.changeResourceRecordSets(
            zoneId: zone.id,
            changes: [
                Route53Change(
                    .create, Route53RecordSet(name: "*.signed.test", type: "TXT", ttl: 60, values: ["\"a b\""]))
            ])
        #expect(!change.isEmpty)

        configuration.credentials = AWSCredentials(accessKeyId: keyId, secretAccessKey: "wrong" + secret)
        let forged = awsError { _ = try DynamoDBClient(configuration: configuration).listTables() }
        #expect(forged?.kind == .accessDenied)
        #expect(forged?.code == "SignatureDoesNotMatch")
        #expect(forged?.description.contains(secret) == false)
    }

    @Test func throttlingAndServerErrorsAreRetried() throws {
        let throttled = #"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}"#
        let server = try ScriptedHTTPServer(responses: [
            (400, throttled), (503, "<html>busy</html>"), (200, #"{"TableNames":["after-3"]}"#),
        ])
        #expect(try DynamoDBClient(configuration: server.configuration).listTables() == ["after-3"])

        let alwaysThrottled = try ScriptedHTTPServer(responses: [(400, throttled)])
        let error = awsError { _ = try DynamoDBClient(configuration: alwaysThrottled.configuration).listTables() }
        #expect(error?.kind == .throttled)
        #expect(error?.code == "ThrottlingException")
        #expect(error?.message == "Rate exceeded")
        #expect(error?.attempts == 3)
    }

    @Test func garbageAndClientErrorsAreNotRetried() throws {
        let garbage = try ScriptedHTTPServer(responses: [(200, "this is not JSON"), (200, #"{"TableNames":[]}"#)])
        let error = awsError { _ = try DynamoDBClient(configuration: garbage.configuration).listTables() }
        #expect(error?.kind == .transport)
        #expect(error?.message.contains("not JSON") == true)

        let validation = #"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}"#
        let invalid = try ScriptedHTTPServer(responses: [(400, validation), (200, #"{"TableNames":[]}"#)])
        let refused = awsError { _ = try DynamoDBClient(configuration: invalid.configuration).listTables() }
        #expect(refused?.kind == .validation)
        #expect(refused?.attempts == 1)
    }
}
