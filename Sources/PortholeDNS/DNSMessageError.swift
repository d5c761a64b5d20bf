/// Why a DNS message was refused. `message` says what is wrong with it, for the resolver's log;
/// ``responseCode`` says how to answer a malformed *query* (RFC 1035 §4.1.1), and nil means drop it.
///
/// A malformed *upstream response* is never passed on: the resolver answers the client SERVFAIL.
public struct DNSMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case headerTooShort(Int)
        case truncated(String)
        case notAQuery
        case notAResponse
        case unsupportedOpcode(UInt8)
        case questionCount(Int)
        case recordsInQuery(answers: Int, authority: Int)
        case tooManyAdditionalRecords(Int)
        case unexpectedAdditionalRecord(DNSRecordType)
        case duplicateOPT
        case optOwnerNotRoot
        case unsupportedEDNSVersion(UInt8)
        case malformedEDNSOptions
        case unsupportedClass(UInt16)
        case optInQuestion
        case reservedLabelType(UInt8, at: Int)
        case emptyLabel
        case labelTooLong(Int)
        case nameTooLong
        case pointerIntoHeader(at: Int, target: Int)
        case pointerPastEnd(at: Int, target: Int)
        case pointerNotBackwards(at: Int, target: Int)
        case tooManyPointers
        case trailingBytes(Int)
        case countsExceedMessage(records: Int, bytes: Int)
        case idMismatch(expected: UInt16, got: UInt16)
        case questionMismatch
        case badRDLength(DNSRecordType, Int)
        case cnameChainTooLong(Int)
        case messageTooLarge(Int)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static func headerTooShort(_ length: Int) -> Self { Self(.headerTooShort(length)) }
    static func truncated(_ part: String) -> Self { Self(.truncated(part)) }
    static let notAQuery = Self(.notAQuery)
    static let notAResponse = Self(.notAResponse)
    static func unsupportedOpcode(_ opcode: UInt8) -> Self { Self(.unsupportedOpcode(opcode)) }
    static func questionCount(_ count: Int) -> Self { Self(.questionCount(count)) }
    static func recordsInQuery(answers: Int, authority: Int) -> Self { Self(.recordsInQuery(answers: answers, authority: authority)) }
    static func tooManyAdditionalRecords(_ count: Int) -> Self { Self(.tooManyAdditionalRecords(count)) }
    static func unexpectedAdditionalRecord(_ type: DNSRecordType) -> Self { Self(.unexpectedAdditionalRecord(type)) }
    static let duplicateOPT = Self(.duplicateOPT)
    static let optOwnerNotRoot = Self(.optOwnerNotRoot)
    static func unsupportedEDNSVersion(_ version: UInt8) -> Self { Self(.unsupportedEDNSVersion(version)) }
    static let malformedEDNSOptions = Self(.malformedEDNSOptions)
    static func unsupportedClass(_ value: UInt16) -> Self { Self(.unsupportedClass(value)) }
    static let optInQuestion = Self(.optInQuestion)
    static func reservedLabelType(_ byte: UInt8, at offset: Int) -> Self { Self(.reservedLabelType(byte, at: offset)) }
    static let emptyLabel = Self(.emptyLabel)
    static func labelTooLong(_ length: Int) -> Self { Self(.labelTooLong(length)) }
    static let nameTooLong = Self(.nameTooLong)
    static func pointerIntoHeader(at offset: Int, target: Int) -> Self { Self(.pointerIntoHeader(at: offset, target: target)) }
    static func pointerPastEnd(at offset: Int, target: Int) -> Self { Self(.pointerPastEnd(at: offset, target: target)) }
    static func pointerNotBackwards(at offset: Int, target: Int) -> Self { Self(.pointerNotBackwards(at: offset, target: target)) }
    static let tooManyPointers = Self(.tooManyPointers)
    static func trailingBytes(_ count: Int) -> Self { Self(.trailingBytes(count)) }
    static func countsExceedMessage(records: Int, bytes: Int) -> Self { Self(.countsExceedMessage(records: records, bytes: bytes)) }
    static func idMismatch(expected: UInt16, got: UInt16) -> Self { Self(.idMismatch(expected: expected, got: got)) }
    static let questionMismatch = Self(.questionMismatch)
    static func badRDLength(_ type: DNSRecordType, _ length: Int) -> Self { Self(.badRDLength(type, length)) }
    static func cnameChainTooLong(_ maximum: Int) -> Self { Self(.cnameChainTooLong(maximum)) }
    static func messageTooLarge(_ length: Int) -> Self { Self(.messageTooLarge(length)) }

    /// How to answer a query that failed to parse with this error: FORMERR for a malformed query,
    /// NOTIMP for a well-formed one the resolver does not do (RFC 1035 §4.1.1), or nil to send
    /// nothing: a message too short to carry an ID cannot be answered, and a message that is itself a
    /// response is never answered, so two servers cannot be made to answer each other forever.
    /// See ``DNSResponse/reply(toMalformedQuery:error:)``.
    public var responseCode: DNSResponseCode? {
        switch base {
        case .headerTooShort, .notAQuery: nil
        case .unsupportedOpcode, .unsupportedClass: .notImplemented
        default: .formatError
        }
    }

    public var message: String {
        switch base {
        case .headerTooShort(let length):
            "the message is \(length) bytes long, shorter than the 12-byte header"
        case .truncated(let part):
            "the message ends inside the \(part)"
        case .notAQuery:
            "the message is a response (QR is set), not a query"
        case .notAResponse:
            "the upstream message is a query (QR is clear), not a response"
        case .unsupportedOpcode(let opcode):
            "opcode \(opcode) is not supported; only standard queries (opcode 0) are answered"
        case .questionCount(let count):
            "the message has \(count) questions; exactly one is supported"
        case .recordsInQuery(let answers, let authority):
            "the query carries \(answers) answer and \(authority) authority records; a query has none"
        case .tooManyAdditionalRecords(let count):
            "the query carries \(count) additional records; at most one, an EDNS OPT record, is accepted"
        case .unexpectedAdditionalRecord(let type):
            "the query's additional record is of type \(type); only an EDNS OPT record is accepted"
        case .duplicateOPT:
            "the message carries more than one OPT record"
        case .optOwnerNotRoot:
            "the OPT record's owner name is not the root"
        case .unsupportedEDNSVersion(let version):
            "EDNS version \(version) is not supported; only version 0 is"
        case .malformedEDNSOptions:
            "the OPT record's options do not fill its RDATA exactly"
        case .unsupportedClass(let value):
            "class \(value) is not supported; only IN (1) is answered"
        case .optInQuestion:
            "the question asks for type OPT, a pseudo-record that cannot be asked for"
        case .reservedLabelType(let byte, let offset):
            "the label length byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(offset) is neither "
                + "a label of at most 63 bytes nor a compression pointer"
        case .emptyLabel:
            "a label is empty"
        case .labelTooLong(let length):
            "a label is \(length) bytes long; a label is at most 63"
        case .nameTooLong:
            "a name is longer than 255 bytes"
        case .pointerIntoHeader(let offset, let target):
            "the compression pointer at offset \(offset) points into the header (offset \(target))"
        case .pointerPastEnd(let offset, let target):
            "the compression pointer at offset \(offset) points past the end of the message (offset \(target))"
        case .pointerNotBackwards(let offset, let target):
            "the compression pointer at offset \(offset) points to offset \(target), not before the name it continues"
        case .tooManyPointers:
            "a name follows too many compression pointers"
        case .trailingBytes(let count):
            "\(count) bytes follow the last record"
        case .countsExceedMessage(let records, let bytes):
            "the header counts \(records) records, more than the \(bytes) bytes after the question can hold"
        case .idMismatch(let expected, let got):
            "the response has ID \(got), not the query's \(expected)"
        case .questionMismatch:
            "the response's question is not the query's"
        case .badRDLength(let type, let length):
            "a \(type) record has \(length) bytes of RDATA"
        case .cnameChainTooLong(let maximum):
            "the answer's CNAME chain is longer than \(maximum)"
        case .messageTooLarge(let length):
            "the message is \(length) bytes long; a DNS message is at most 65535"
        }
    }

    public var description: String { message }
}
