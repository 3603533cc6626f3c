import Foundation
import Testing

@testable import FurrowAWS

/// AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite, 2015-08-30 edition): every case signs for
/// service `service` in `us-east-1` at 20150830T123600Z with the suite's example key, host example.amazonaws.com.
@Suite struct SigV4Tests {
    static let suiteCredentials = AWSCredentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let scope = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
    static let suiteToken =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    func sign(
        _ method: String, query: [(String, String)] = [], headers: [(String, String)] = [], body: String = "",
        credentials: AWSCredentials = suiteCredentials
    ) -> SigV4Signer.Signature {
        SigV4Signer(credentials: credentials, region: "us-east-1", service: "service").sign(
            method: method, host: "example.amazonaws.com", path: "/", query: query, headers: headers,
            body: Array(body.utf8), date: Self.suiteDate)
    }

    @Test func getVanilla() {
        let signature = sign("GET")
        #expect(
            signature.canonicalRequest == """
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        #expect(
            signature.stringToSign == """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
                """)
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=\(Self.scope), SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(signature.headersToAdd.map(\.name) == ["X-Amz-Date", "Authorization"])
    }

    @Test func postVanilla() {
        #expect(sign("POST").signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    @Test func getVanillaQueryOrderKeyCase() {
        let signature = sign("GET", query: [("Param2", "value2"), ("Param1", "value1")])
        #expect(
            signature.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2]
                == "Param1=value1&Param2=value2")
        #expect(signature.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func postXWWWFormURLEncoded() {
        let signature = sign(
            "POST", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1")
        #expect(
            signature.canonicalRequest.hasSuffix("\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"))
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=\(Self.scope), SignedHeaders=content-type;host;x-amz-date, "
                + "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    @Test func getHeaderValueTrim() {
        let signature = sign("GET", headers: [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")])
        #expect(signature.canonicalRequest.contains("\nmy-header1:value1\nmy-header2:\"a b c\"\n"))
        #expect(signature.signature == "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")
    }

    @Test func postHeaderKeySort() {
        #expect(
            sign("POST", headers: [("My-Header1", "value1")]).signature
                == "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c")
    }

    @Test func postSTSHeaderBefore() {
        let credentials = AWSCredentials(
            accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            sessionToken: Self.suiteToken)
        let signature = sign("POST", credentials: credentials)
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=\(Self.scope), SignedHeaders=host;x-amz-date;x-amz-security-token, "
                + "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")
        #expect(signature.headersToAdd.contains { $0.name == "X-Amz-Security-Token" && $0.value == Self.suiteToken })
    }

    @Test func uriEncodingKeepsOnlyUnreservedCharacters() {
        #expect(SigV4Signer.uriEncode("a b/c~d+e$é") == "a%20b%2Fc~d%2Be%24%C3%A9")
        #expect(SigV4Signer.uriEncode("AZaz09-_.~") == "AZaz09-_.~")
    }

    @Test func timestampsAreUTC() {
        #expect(SigV4Signer.timestamps(Self.suiteDate) == ("20150830T123600Z", "20150830"))
        #expect(SigV4Signer.timestamps(Date(timeIntervalSince1970: 0)) == ("19700101T000000Z", "19700101"))
    }
}
