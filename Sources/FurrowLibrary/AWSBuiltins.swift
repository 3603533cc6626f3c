import Foundation
import FurrowAWS
import FurrowRuntime

/// `aws.*`: small direct uses of AWS that scripts need besides the state table and DNS;
/// today the image lookup of newbuild.
struct AWSBuiltins: BuiltinModule {
    let configuration: Configuration

    func install(into interpreter: Interpreter) {
        let settings = configuration.section("aws")
        interpreter.register("aws", .host(Namespace("aws", doc: "aws.ecr_image_exists(repository, tag)", members: [
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
