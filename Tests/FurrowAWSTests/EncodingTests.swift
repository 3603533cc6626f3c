import FurrowJSON
import Testing

@testable import FurrowAWS

@Suite struct AttributeValueTests {
    @Test func roundTripKeepsTypesAndOrder() throws {
        let item: JSONValue = [
            "name": "feat-x", "version": 3, "big": .int(Int64.max), "negative": -42, "ratio": 0.25, "tiny": 1.5e-7,
            "enabled": true, "nothing": nil, "tags": ["a", 1, false, nil, ["nested": 2.5]],
            "versions": ["tyk": "sha-1a2b", "tyk-analytics": "master", "zeta": 1, "alpha": 2],
        ]
        let typed = try DynamoDBAttributeValue.encode(item)
        #expect(typed["M"]?["version"] == ["N": "3"])
        #expect(typed["M"]?["big"] == ["N": "9223372036854775807"])
        #expect(typed["M"]?["nothing"] == ["NULL": true])
        #expect(typed["M"]?["enabled"] == ["BOOL": true])
        #expect(typed["M"]?["tags"]?["L"]?[4] == ["M": ["nested": ["N": "2.5"]]])
        let back = try DynamoDBAttributeValue.decode(typed)
        #expect(back == item)
        #expect(back["versions"]?.objectValue?.keys.elementsEqual(["tyk", "tyk-analytics", "zeta", "alpha"]) == true)
    }

    @Test func wholeDoublesBecomeIntegersAsDynamoDBStoresThem() throws {
        #expect(try DynamoDBAttributeValue.encode(2.0) == ["N": "2"])
        #expect(try DynamoDBAttributeValue.decode(["N": "2"]) == .int(2))
        #expect(try DynamoDBAttributeValue.decode(["N": "2.50"]) == .double(2.5))
        #expect(try DynamoDBAttributeValue.decode(["N": "1E+3"]) == .double(1000))
    }

    @Test func setsAndBinaryDecodeToArraysAndText() throws {
        #expect(try DynamoDBAttributeValue.decode(["SS": ["a", "b"]]) == ["a", "b"])
        #expect(try DynamoDBAttributeValue.decode(["NS": ["1", "2.5"]]) == [1, 2.5])
        #expect(try DynamoDBAttributeValue.decode(["B": "aGk="]) == "aGk=")
    }

    @Test func refusesWhatDynamoDBCannotHold() {
        #expect(throws: AWSError.self) { try DynamoDBAttributeValue.encode(.double(.nan)) }
        #expect(throws: AWSError.self) { try DynamoDBAttributeValue.encode(.double(.infinity)) }
        #expect(throws: AWSError.self) { try DynamoDBAttributeValue.decode(["X": "?"]) }
        #expect(throws: AWSError.self) { try DynamoDBAttributeValue.decode(["S": "a", "N": "1"]) }
    }
}

@Suite struct ExpressionTests {
    @Test func equalitiesUsePlaceholdersOnly() {
        let condition = DynamoDBExpression.equals(["state": "new", "version": 3])
        #expect(condition.expression == "#n0 = :v0 AND #n1 = :v1")
        #expect(condition.names == ["#n0": "state", "#n1": "version"])
        #expect(condition.values == [":v0": "new", ":v1": 3])
    }

    @Test func hostileNamesStayOutOfTheExpression() {
        let condition = DynamoDBExpression.equals(["a = :x OR #b": "1) OR (attribute_exists(x)"])
        #expect(condition.expression == "#n0 = :v0")
        #expect(condition.names["#n0"] == "a = :x OR #b")
    }

    @Test func attributeExistence() {
        #expect(
            DynamoDBExpression.attributeNotExists("name")
                == DynamoDBExpression(expression: "attribute_not_exists(#n0)", names: ["#n0": "name"]))
        #expect(DynamoDBExpression.attributeExists("name").expression == "attribute_exists(#n0)")
    }

    @Test func conjunctionRenumbersPlaceholders() {
        let both = DynamoDBExpression.equals(["state": "new"]).and(.equals(["version": 3, "owner": "sow"]))
        #expect(both.expression == "(#n0 = :v0) AND (#r2_n0 = :r2_v0 AND #r2_n1 = :r2_v1)")
        #expect(both.names == ["#n0": "state", "#r2_n0": "version", "#r2_n1": "owner"])
        #expect(both.values == [":v0": "new", ":r2_v0": 3, ":r2_v1": "sow"])
    }

    @Test func builderReusesNamePlaceholders() {
        var builder = DynamoDBExpression.Builder()
        let name = builder.name("state")
        #expect(builder.name("state") == name)
        let low = builder.value("a")
        let high = builder.value("m")
        #expect(builder.expression("\(name) BETWEEN \(low) AND \(high)").expression == "#n0 BETWEEN :v0 AND :v1")
    }
}

@Suite struct XMLTests {
    @Test func parsesAWSStyleDocuments() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <ListResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
              <ResourceRecordSets>
                <ResourceRecordSet><Name>\\052.example.com.</Name><Type>TXT</Type><TTL>60</TTL>
                  <ResourceRecords><ResourceRecord><Value>"a&lt;b&amp;c &#x263A; &#65;"</Value></ResourceRecord></ResourceRecords>
                </ResourceRecordSet>
              </ResourceRecordSets>
              <IsTruncated>false</IsTruncated><Empty/><Data><![CDATA[<raw>]]></Data>
            </ListResourceRecordSetsResponse>
            """
        let root = try XMLNode.parse(Array(text.utf8))
        #expect(root.name == "ListResourceRecordSetsResponse")
        #expect(root.attributes["xmlns"] == "https://route53.amazonaws.com/doc/2013-04-01/")
        let record = Route53Client.recordSet(try #require(root.first("ResourceRecordSet")))
        #expect(record == Route53RecordSet(name: "*.example.com.", type: "TXT", ttl: 60, values: ["\"a<b&c ☺ A\""]))
        #expect(root.childText("IsTruncated") == "false")
        #expect(root.childText("Empty") == "")
        #expect(root.childText("Data") == "<raw>")
    }

    @Test func rejectsMalformedDocuments() {
        for text in ["", "<a>", "<a></b>", "<a>&bogus;</a>", "<a></a><b></b>", "<!DOCTYPE x><a/>", "not xml"] {
            #expect(throws: XMLNode.SyntaxError.self, "\(text)") { try XMLNode.parse(Array(text.utf8)) }
        }
    }

    @Test func changeBatchXMLEscapesValues() {
        let xml = Route53Client.xml(Route53RecordSet(name: "x.example.com", type: "txt", ttl: 30, values: ["\"<&>\""]))
        #expect(
            xml == "<ResourceRecordSet><Name>x.example.com.</Name><Type>TXT</Type><TTL>30</TTL><ResourceRecords>"
                + "<ResourceRecord><Value>&quot;&lt;&amp;&gt;&quot;</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"
        )
    }

    @Test func errorDetailsFromEitherProtocol() {
        let json = AWSResponse(
            status: 400, headers: [:],
            body: Array(
                #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#
                    .utf8))
        let (jsonCode, jsonMessage) = AWSHTTPClient.errorDetails(json)
        #expect(jsonCode == "ConditionalCheckFailedException")
        #expect(jsonMessage == "The conditional request failed")
        #expect(AWSError.kind(code: jsonCode, httpStatus: 400) == .conditionalCheckFailed)

        let xml = AWSResponse(
            status: 404, headers: [:],
            body: Array(
                "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchHostedZone</Code><Message>No zone Z1</Message></Error></ErrorResponse>"
                    .utf8))
        let (xmlCode, xmlMessage) = AWSHTTPClient.errorDetails(xml)
        #expect(xmlCode == "NoSuchHostedZone")
        #expect(xmlMessage == "No zone Z1")
        #expect(AWSError.kind(code: xmlCode, httpStatus: 404) == .notFound)

        let header = AWSResponse(
            status: 400, headers: ["x-amzn-errortype": "ThrottlingException:http://internal/"], body: [])
        #expect(AWSHTTPClient.errorDetails(header).code == "ThrottlingException")
        #expect(AWSError.kind(code: "ExpiredTokenException", httpStatus: 400) == .accessDenied)
        #expect(AWSError.kind(code: nil, httpStatus: 503) == .service)
    }
}

@Test func chainedConjunctionsNeverReusePlaceholders() {
    let one = DynamoDBExpression.equals(["a": 1])
    let chained = one.and(one).and(one.and(one)).and(one)
    #expect(chained.names.count == 5)
    #expect(chained.values.count == 5)
    #expect(Set(chained.values.values) == [1])
    for placeholder in chained.names.keys { #expect(chained.expression.contains(placeholder)) }
}
