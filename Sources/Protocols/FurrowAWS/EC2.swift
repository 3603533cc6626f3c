extension AWSService {
    public static let ec2 = AWSService(signingName: "ec2", fixedRegion: nil) { "ec2.\($0).amazonaws.com" }
}

/// An EC2 query-protocol response: the XML document, read by element name.
public struct EC2Response: Sendable {
    let root: XMLNode

    /// The text of the first element named `name` (depth first), nil when absent.
    public func text(_ name: String) -> String? { root.first(name)?.text }
}

/// A network interface's addresses.
public struct EC2NetworkInterface: Sendable, Equatable {
    public let id: String
    public let privateAddress: String?
    /// The public IPv4 address associated with the primary private address (an Elastic IP or an auto-assigned one).
    public let publicAddress: String?
}

/// The EC2 calls Furrow needs, over the EC2 query protocol (form-encoded POST, XML answers).
public struct EC2Client: Sendable {
    public static let apiVersion = "2016-11-15"
    public let http: AWSHTTPClient

    public init(http: AWSHTTPClient) { self.http = http }
    public init(configuration: AWSConfiguration) { self.init(http: AWSHTTPClient(configuration: configuration)) }

    /// Any EC2 action; `parameters` are the flattened query names (`NetworkInterfaceId.1`, `Filter.1.Name` ...).
    public func call(_ action: String, _ parameters: [(String, String)] = []) throws -> EC2Response {
        let fields = [("Action", action), ("Version", Self.apiVersion)] + parameters
        let body = fields.map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }.joined(separator: "&")
        let request = AWSRequest(
            method: "POST", headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: Array(body.utf8))
        let response = try http.send(request, to: .ec2, operation: action)
        do {
            return EC2Response(root: try XMLNode.parse(response.body))
        } catch {
            throw AWSError(
                kind: .transport, service: "ec2", operation: action, httpStatus: response.status,
                message: "the response is not XML (\(error)): \(AWSHTTPClient.snippet(response.body))")
        }
    }

    /// The interfaces named, in batches of 100, following `nextToken`. Interfaces that no longer exist are absent.
    public func describeNetworkInterfaces(ids: [String]) throws -> [EC2NetworkInterface] {
        var found: [EC2NetworkInterface] = []
        for start in stride(from: 0, to: ids.count, by: 100) {
            // The ids go in a filter, which (unlike NetworkInterfaceId.N) allows paging and ignores unknown ids.
            var parameters: [(String, String)] = [("Filter.1.Name", "network-interface-id"), ("MaxResults", "1000")]
            for (index, id) in ids[start..<min(start + 100, ids.count)].enumerated() {
                parameters.append(("Filter.1.Value.\(index + 1)", id))
            }
            var token: String?
            repeat {
                let page = try call("DescribeNetworkInterfaces", parameters + (token.map { [("NextToken", $0)] } ?? []))
                for item in page.root.child("networkInterfaceSet")?.children ?? [] where item.name == "item" {
                    found.append(
                        EC2NetworkInterface(
                            id: item.childText("networkInterfaceId") ?? "",
                            privateAddress: item.childText("privateIpAddress"),
                            publicAddress: item.child("association")?.childText("publicIp")))
                }
                token = page.root.childText("nextToken").flatMap { $0.isEmpty ? nil : $0 }
            } while token != nil
        }
        return found
    }

    /// Allocates an Elastic IP in the VPC domain; returns its allocation id and address.
    public func allocateAddress() throws -> (allocationID: String, publicIP: String) {
        let response = try call("AllocateAddress", [("Domain", "vpc")])
        return (response.text("allocationId") ?? "", response.text("publicIp") ?? "")
    }

    /// Associates an Elastic IP with a network interface's primary private address; returns the association id.
    @discardableResult
    public func associateAddress(allocationID: String, networkInterfaceID: String) throws -> String {
        let response = try call(
            "AssociateAddress", [("AllocationId", allocationID), ("NetworkInterfaceId", networkInterfaceID)])
        return response.text("associationId") ?? ""
    }
}
