/// Which address of a task's network interface names it: public for an external zone, private for an internal one.
public enum ECSAddressKind: String, Sendable {
    case `public`, `private`
}

/// Where one ECS service runs now.
public struct ECSServiceEndpoint: Sendable, Equatable {
    public let service: String
    /// The chosen address of every RUNNING task, sorted and without duplicates; empty while no task runs (all
    /// starting or stopping) or none has such an address.
    public let addresses: [String]
}

/// Finds the addresses of a cluster's services from ECS (services → tasks meant to run → their awsvpc network
/// interfaces) and EC2 (the interfaces' addresses), since Fargate tasks change address whenever they restart.
public struct ECSDiscovery: Sendable {
    public let ecs: ECSClient
    public let ec2: EC2Client

    public init(configuration: AWSConfiguration) {
        let http = AWSHTTPClient(configuration: configuration)
        ecs = ECSClient(http: http)
        ec2 = EC2Client(http: http)
    }

    /// Every service of `cluster`, sorted by name. Any failed call throws: a partial answer must not be taken for
    /// the whole truth.
    public func endpoints(cluster: String, address kind: ECSAddressKind) throws -> [ECSServiceEndpoint] {
        let services = try ecs.listServices(cluster: cluster).map(resourceName(ofARN:)).sorted()
        var running: [String: [ECSTask]] = [:]
        for service in services {
            let arns = try ecs.listTasks(cluster: cluster, serviceName: service)
            // ECS's own group of a service's tasks; a task run by hand in the cluster is no service's endpoint
            running[service] = try ecs.describeTasks(cluster: cluster, tasks: arns)
                .filter { $0.lastStatus == "RUNNING" && $0.group == "service:\(service)" }
        }
        let interfaceIDs = running.values.flatMap { $0.compactMap(\.networkInterfaceID) }
        var interfaces: [String: EC2NetworkInterface] = [:]
        for interface in try ec2.describeNetworkInterfaces(ids: interfaceIDs) { interfaces[interface.id] = interface }
        return services.map { service in
            let addresses = (running[service] ?? []).compactMap { task -> String? in
                guard let id = task.networkInterfaceID, let interface = interfaces[id] else { return nil }
                return kind == .public ? interface.publicAddress : interface.privateAddress
            }
            return ECSServiceEndpoint(service: service, addresses: Array(Set(addresses)).sorted())
        }
    }
}
