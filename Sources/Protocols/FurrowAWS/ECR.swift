import FurrowJSON
import OrderedCollections

/// The few ECR calls Furrow needs to decide which image tag an environment runs (JSON 1.1 protocol).
public struct ECRClient: Sendable {
    public let http: AWSHTTPClient

    public init(http: AWSHTTPClient) { self.http = http }
    public init(configuration: AWSConfiguration) { self.init(http: AWSHTTPClient(configuration: configuration)) }

    /// Any ECR operation with a raw input.
    public func call(_ operation: String, _ input: JSONValue) throws -> JSONValue {
        try http.callJSON(
            .ecr, targetPrefix: "AmazonEC2ContainerRegistry_V20150921", operation: operation, jsonVersion: "1.1",
            input: input)
    }

    /// Whether the repository holds an image tagged `tag`. A missing repository is an error (`.notFound`), since it
    /// usually means a misspelt name rather than an image not built yet.
    public func imageTagExists(repository: String, tag: String) throws -> Bool {
        do {
            let output = try call(
                "DescribeImages", ["repositoryName": .string(repository), "imageIds": [["imageTag": .string(tag)]]])
            // Asked for one tag, the answer is a single page: the image, or ImageNotFoundException.
            return (output["imageDetails"]?.arrayValue ?? []).contains { detail in
                (detail["imageTags"]?.arrayValue ?? []).contains(.string(tag))
            }
        } catch let error as AWSError where error.code == "ImageNotFoundException" {
            return false
        }
    }

    /// Every tag in the repository, following `nextToken` across pages.
    public func imageTags(repository: String) throws -> [String] {
        var tags: [String] = []
        var token: String?
        repeat {
            var input: OrderedDictionary<String, JSONValue> = [
                "repositoryName": .string(repository), "filter": ["tagStatus": "TAGGED"], "maxResults": 1000,
            ]
            if let token { input["nextToken"] = .string(token) }
            let output = try call("ListImages", .object(input))
            tags += (output["imageIds"]?.arrayValue ?? []).compactMap { $0["imageTag"]?.stringValue }
            token = output["nextToken"]?.stringValue
        } while token != nil
        return tags
    }

    /// Creates a repository; returns its URI.
    @discardableResult
    public func createRepository(name: String) throws -> String {
        let output = try call("CreateRepository", ["repositoryName": .string(name)])
        return output["repository"]?["repositoryUri"]?.stringValue ?? ""
    }

    /// Deletes a repository and every image in it.
    public func deleteRepository(name: String) throws {
        _ = try call("DeleteRepository", ["repositoryName": .string(name), "force": true])
    }

    /// Registers an image manifest under `tag` (what a push does last); returns the image digest.
    @discardableResult
    public func putImage(repository: String, tag: String, manifest: String, mediaType: String? = nil) throws -> String {
        var input: OrderedDictionary<String, JSONValue> = [
            "repositoryName": .string(repository), "imageManifest": .string(manifest), "imageTag": .string(tag),
        ]
        if let mediaType { input["imageManifestMediaType"] = .string(mediaType) }
        let output = try call("PutImage", .object(input))
        return output["image"]?["imageId"]?["imageDigest"]?.stringValue ?? ""
    }
}
