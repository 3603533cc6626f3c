import FurrowJSON
import OrderedCollections

extension AWSService {
    public static let ecs = AWSService(signingName: "ecs", fixedRegion: nil) { "ecs.\($0).amazonaws.com" }
}

/// One ECS task as far as address discovery needs it.
public struct ECSTask: Sendable, Equatable {
    public let arn: String
    /// `RUNNING`, `DEACTIVATING`, `STOPPING`, `STOPPED` ...
    public let lastStatus: String
    /// `service:<name>` for a task a service started.
    public let group: String
    /// The awsvpc network interface, nil for other network modes.
    public let networkInterfaceID: String?
}

/// The ECS calls Furrow needs to find where services run (JSON 1.1 protocol); every list follows `nextToken`.
public struct ECSClient: Sendable {
    public let http: AWSHTTPClient

    public init(http: AWSHTTPClient) { self.http = http }
    public init(configuration: AWSConfiguration) { self.init(http: AWSHTTPClient(configuration: configuration)) }

    /// Any ECS operation with a raw input.
    public func call(_ operation: String, _ input: JSONValue) throws -> JSONValue {
        try http.callJSON(
            .ecs, targetPrefix: "AmazonEC2ContainerServiceV20141113", operation: operation, jsonVersion: "1.1",
            input: input)
    }

    /// Every ARN a list operation returns under `member`, page by page.
    private func listAll(_ operation: String, _ input: OrderedDictionary<String, JSONValue>, member: String) throws
        -> [String]
    {
        var arns: [String] = []
        var token: String?
        repeat {
            var page = input
            page["maxResults"] = 100
            if let token { page["nextToken"] = .string(token) }
            let output = try call(operation, .object(page))
            arns += (output[member]?.arrayValue ?? []).compactMap(\.stringValue)
            token = output["nextToken"]?.stringValue
        } while token != nil
        return arns
    }

    public func listClusters() throws -> [String] {
        try listAll("ListClusters", [:], member: "clusterArns")
    }

    /// The ARNs of a cluster's services.
    public func listServices(cluster: String) throws -> [String] {
        try listAll("ListServices", ["cluster": .string(cluster)], member: "serviceArns")
    }

    /// The ARNs of the tasks meant to run (`desiredStatus` RUNNING), of one service or of the whole cluster.
    public func listTasks(cluster: String, serviceName: String? = nil) throws -> [String] {
        var input: OrderedDictionary<String, JSONValue> = ["cluster": .string(cluster), "desiredStatus": "RUNNING"]
        if let serviceName { input["serviceName"] = .string(serviceName) }
        return try listAll("ListTasks", input, member: "taskArns")
    }

    /// The tasks named, in batches of 100 (the most one DescribeTasks takes).
    public func describeTasks(cluster: String, tasks: [String]) throws -> [ECSTask] {
        var described: [ECSTask] = []
        for start in stride(from: 0, to: tasks.count, by: 100) {
            let batch = tasks[start..<min(start + 100, tasks.count)]
            let output = try call(
                "DescribeTasks", ["cluster": .string(cluster), "tasks": .array(batch.map { .string($0) })])
            for task in output["tasks"]?.arrayValue ?? [] {
                let interface = (task["attachments"]?.arrayValue ?? [])
                    .filter { $0["type"]?.stringValue == "ElasticNetworkInterface" }
                    .flatMap { $0["details"]?.arrayValue ?? [] }
                    .first { $0["name"]?.stringValue == "networkInterfaceId" }?["value"]?.stringValue
                described.append(
                    ECSTask(
                        arn: task["taskArn"]?.stringValue ?? "", lastStatus: task["lastStatus"]?.stringValue ?? "",
                        group: task["group"]?.stringValue ?? "", networkInterfaceID: interface))
            }
        }
        return described
    }
}

/// The last element of an ARN's resource path: `arn:aws:ecs:…:service/cluster/web` → `web`.
func resourceName(ofARN arn: String) -> String {
    String(arn.split(separator: "/").last ?? Substring(arn))
}
