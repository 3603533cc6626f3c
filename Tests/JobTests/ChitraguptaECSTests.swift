import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import FurrowAWS
import FurrowJSON
import FurrowTestSupport
import Testing

/// ECS clusters on the local AWS-compatible server, one per environment, with awsvpc services
/// whose tasks the test runs and stops itself (that server starts no task for a service).
struct ECSWorld {
    let server: LocalAWSServer
    let ecs: ECSClient
    let ec2: EC2Client
    let subnet: String
    let securityGroup: String

    init(server: LocalAWSServer) throws {
        self.server = server
        let configuration = try AWSConfiguration.resolve(
            region: LocalAWSServer.region, endpoint: server.endpoint,
            credentials: AWSCredentials(accessKeyId: LocalAWSServer.accessKeyId, secretAccessKey: LocalAWSServer.secretAccessKey))
        ecs = ECSClient(configuration: configuration)
        ec2 = EC2Client(configuration: configuration)
        let vpc = try ec2.call("CreateVpc", [("CidrBlock", "10.0.0.0/16")]).text("vpcId") ?? ""
        // the server names a task's interface only in a VPC with DNS host names
        _ = try ec2.call("ModifyVpcAttribute", [("VpcId", vpc), ("EnableDnsHostnames.Value", "true")])
        subnet = try ec2.call("CreateSubnet", [("VpcId", vpc), ("CidrBlock", "10.0.1.0/24")]).text("subnetId") ?? ""
        securityGroup = try ec2.call(
            "CreateSecurityGroup", [("VpcId", vpc), ("GroupName", "tasks"), ("GroupDescription", "tasks")]
        ).text("groupId") ?? ""
        // the server moves a task one step towards STOPPED on every DescribeTasks unless told to wait
        try Self.postJSON(
            server.endpoint.appendingPathComponent("moto-api/state-manager/set-transition"),
            #"{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}}"#)
    }

    static func postJSON(_ url: URL, _ body: String) throws {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var status = 0
        URLSession.shared.dataTask(with: request) { _, response, _ in
            status = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }.resume()
        done.wait()
        #expect((200..<300).contains(status), "POST \(url.path): \(status)")
    }

    var awsvpc: JSONValue {
        ["awsvpcConfiguration": ["subnets": [.string(subnet)], "securityGroups": [.string(securityGroup)], "assignPublicIp": "ENABLED"]]
    }

    func cluster(_ name: String, services: [String]) throws {
        _ = try ecs.call("CreateCluster", ["clusterName": .string(name)])
        for service in services {
            _ = try ecs.call("RegisterTaskDefinition", [
                "family": .string(service), "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "containerDefinitions": [["name": .string(service), "image": "nginx", "memory": 128]],
            ])
            _ = try ecs.call("CreateService", [
                "cluster": .string(name), "serviceName": .string(service), "taskDefinition": .string(service),
                "desiredCount": 1, "launchType": "FARGATE", "networkConfiguration": awsvpc,
            ])
        }
    }

    /// Starts a task of the service (as the service's scheduler would) and gives its interface a new
    /// Elastic IP; returns the task's ARN, its public and its private address.
    func startTask(cluster: String, service: String) throws -> (arn: String, publicIP: String, privateIP: String) {
        let output = try ecs.call("RunTask", [
            "cluster": .string(cluster), "taskDefinition": .string(service), "launchType": "FARGATE",
            "count": 1, "group": .string("service:\(service)"), "startedBy": .string(service),
            "networkConfiguration": awsvpc,
        ])
        let arn = output["tasks"]?[0]?["taskArn"]?.stringValue ?? ""
        let task = try #require(try ecs.describeTasks(cluster: cluster, tasks: [arn]).first)
        let interface = try #require(task.networkInterfaceID)
        let address = try ec2.allocateAddress()
        try ec2.associateAddress(allocationID: address.allocationID, networkInterfaceID: interface)
        let described = try #require(try ec2.describeNetworkInterfaces(ids: [interface]).first)
        #expect(described.publicAddress == address.publicIP)
        return (arn, address.publicIP, described.privateAddress ?? "")
    }

    func stopTask(cluster: String, arn: String) throws {
        _ = try ecs.call("StopTask", ["cluster": .string(cluster), "task": .string(arn)])
    }
}

@Suite(.serialized) struct ChitraguptaECSTests {
    func deployed(_ world: JobWorld, _ names: String...) throws {
        for name in names {
            let r = try world.run("-c", "state.table(\"DeveloperEnvironments\").put({name: \"\(name)\", state: \"deployed\"})")
            #expect(r.status == 0, "\(r.stderr)")
        }
    }

    func zone(_ world: JobWorld) throws -> [String: [String]] {
        let text = try world.query("dns.zone(\"dev.example.com\").records() | map [.name, .values]")
        var records: [String: [String]] = [:]
        for pair in try JSONValue.parse(text).arrayValue ?? [] {
            records[pair[0]?.stringValue ?? ""] = (pair[1]?.arrayValue ?? []).compactMap(\.stringValue)
        }
        return records
    }

    @Test func chitraguptaNamesTheAddressesOfRunningTasks() throws {
        let server = try LocalAWSServer()
        defer { server.stop() }
        let aws = try ECSWorld(server: server)
        try aws.cluster("feat-a", services: ["tyk", "tyk-analytics"])
        try aws.cluster("feat-b", services: ["tyk"])
        let a1 = try aws.startTask(cluster: "feat-a", service: "tyk")
        let a2 = try aws.startTask(cluster: "feat-a", service: "tyk")
        let analytics = try aws.startTask(cluster: "feat-a", service: "tyk-analytics")
        let b = try aws.startTask(cluster: "feat-b", service: "tyk")

        let world = try JobWorld()
        world.environment = server.clientEnvironment.merging([
            "FURROW_AWS_ENDPOINT": server.endpoint.absoluteString, "FURROW_JOBS_DISCOVERY": "ecs",
        ]) { _, new in new }
        try deployed(world, "feat-a", "feat-b")

        var r = try world.run("run", "std/chitragupta")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        var records = try zone(world)
        #expect(records["tyk.feat-a"] == [a1.publicIP, a2.publicIP].sorted())
        #expect(records["tyk-analytics.feat-a"] == [analytics.publicIP])
        #expect(records["tyk.feat-b"] == [b.publicIP])

        // an internal zone takes the private addresses
        let privateAddresses = try world.query("aws.ecs_endpoints(\"feat-b\", address: \"private\")")
        #expect(try JSONValue.parse(privateAddresses) == ["tyk": [.string(b.privateIP)]])

        // every task of a service stopping: its record stays until one runs again
        try aws.stopTask(cluster: "feat-b", arn: b.arn)
        r = try world.run("run", "std/chitragupta")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try zone(world)["tyk.feat-b"] == [b.publicIP])

        // a task stopped and replaced moves its record on the next run
        try aws.stopTask(cluster: "feat-a", arn: a1.arn)
        let a3 = try aws.startTask(cluster: "feat-a", service: "tyk")
        let b2 = try aws.startTask(cluster: "feat-b", service: "tyk")
        r = try world.run("run", "std/chitragupta")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        records = try zone(world)
        #expect(records["tyk.feat-a"] == [a2.publicIP, a3.publicIP].sorted())
        #expect(records["tyk.feat-b"] == [b2.publicIP])

        // an environment whose cluster cannot be read fails the run and deletes nothing
        try deployed(world, "feat-c")
        try aws.stopTask(cluster: "feat-a", arn: a2.arn)
        r = try world.run("run", "std/chitragupta")
        #expect(r.status != 0, "a failed lookup is a failed run")
        #expect(r.stdout.contains("left as it is"), "\(r.stdout)")
        #expect(try zone(world) == records, "nothing changes while a lookup fails")
    }

    @Test func outputsStayTheDefaultAndAnUnknownSourceIsRefused() throws {
        let world = try JobWorld()
        world.environment = ["FURROW_JOBS_DISCOVERY": "consul"]
        let r = try world.run("run", "std/chitragupta")
        #expect(r.status != 0)
        #expect(r.stderr.contains("jobs.discovery must be \"outputs\" or \"ecs\""), "\(r.stderr)")
        #expect(try world.query("config.jobs.discovery") == "\"consul\"")
        world.environment = [:]
        #expect(try world.query("config.jobs.discovery") == "\"outputs\"")
    }
}
