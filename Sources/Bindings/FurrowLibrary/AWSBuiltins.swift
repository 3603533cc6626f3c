import Foundation
import FurrowAWS
import FurrowRuntime

/// `aws.*`: small direct uses of AWS that scripts need besides the state table and DNS;
/// the image lookup of newbuild and the ECS discovery of chitragupta.
struct AWSBuiltins: BuiltinModule {
    let configuration: Configuration

    func install(into interpreter: Interpreter) {
        let settings = configuration.section("aws")
        interpreter.register("aws", .host(Namespace("aws", doc: "aws.ecr_image_exists(repository, tag), aws.ecs_endpoints(cluster, address:)", members: [
            "ecr_image_exists": builtin("aws.ecr_image_exists", ["repository", "tag"], doc: "aws.ecr_image_exists(repository, tag) → bool\nWhether an ECR repository has an image with this tag (DescribeImages; region, endpoint and credentials from config.aws and the standard AWS variables and files).") { b, _ throws(FurrowError) in
                let repository = try b[0]!.string("repository"), tag = try b[1]!.string("tag")
                let client = ECRClient(configuration: try AWSSettings.resolve(settings))
                do {
                    return .bool(try client.imageTagExists(repository: repository, tag: tag))
                } catch let error as AWSError {
                    throw FurrowError("ECR lookup of \(repository):\(tag) failed: \(error.description)", kind: .aws)
                } catch {
                    throw FurrowError("ECR lookup of \(repository):\(tag) failed: \(error)", kind: .aws)
                }
            },
            "ecs_endpoints": builtin("aws.ecs_endpoints", ["cluster", "address"], required: 1, doc: "aws.ecs_endpoints(cluster, address: \"public\") → {service: [address]}\nWhere each service of an ECS cluster runs now: the public (or private) address of every RUNNING task's network interface, sorted; an empty list while no task runs (ListServices, ListTasks, DescribeTasks, DescribeNetworkInterfaces).") { b, _ throws(FurrowError) in
                let cluster = try b[0]!.string("cluster")
                let kindText = try b[1].map { v throws(FurrowError) in try v.string("address") } ?? "public"
                guard let kind = ECSAddressKind(rawValue: kindText) else {
                    throw FurrowError("aws.ecs_endpoints()'s address must be \"public\" or \"private\", not \"\(kindText)\"", kind: "value")
                }
                let discovery = ECSDiscovery(configuration: try AWSSettings.resolve(settings))
                do {
                    var services = FurrowMap()
                    for endpoint in try discovery.endpoints(cluster: cluster, address: kind) {
                        services[endpoint.service] = .list(endpoint.addresses.map { .string($0) })
                    }
                    return .map(services)
                } catch let error as AWSError {
                    throw FurrowError("ECS lookup of cluster \(cluster) failed: \(error.description)", kind: "aws")
                } catch {
                    throw FurrowError("ECS lookup of cluster \(cluster) failed: \(error)", kind: "aws")
                }
            },
        ])))
    }
}

/// AWS client settings from the `[aws]` section: region and an optional endpoint for a
/// local AWS-compatible server; credentials come from the standard places.
enum AWSSettings {
    static func resolve(_ section: FurrowMap) throws(FurrowError) -> AWSConfiguration {
        var endpoint: URL?
        if case .string(let text)? = section["endpoint"], !text.isEmpty {
            guard let url = URL(string: text) else { throw FurrowError("aws.endpoint '\(text)' is not a URL", kind: .config) }
            endpoint = url
        }
        do {
            return try AWSConfiguration.resolve(region: section["region"]?.stringValue, endpoint: endpoint)
        } catch let error as AWSConfigurationError {
            throw FurrowError(error.message, kind: .aws)
        } catch {
            throw FurrowError("\(error)", kind: .aws)
        }
    }
}
