import PortholeTestSupport
@testable import PortholeDNS

/// Hand-built DNS messages for the tests: each piece as RFC 1035 §4.1 lays it out, so a test reads
/// like the packet it builds.
enum Packet {
    static func header(
        id: UInt16 = 0x1234, flags: UInt16, questions: UInt16 = 1, answers: UInt16 = 0, authority: UInt16 = 0,
        additional: UInt16 = 0
    ) -> [UInt8] {
        [id, flags, questions, answers, authority, additional].flatMap(u16)
    }

    /// Uncompressed wire form of dotted text; `.` is the root.
    static func name(_ text: String) -> [UInt8] {
        guard text != "." else { return [0] }
        return text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func question(_ name: [UInt8], type: UInt16 = 1, class qclass: UInt16 = 1) -> [UInt8] {
        name + u16(type) + u16(qclass)
    }

    static func record(_ owner: [UInt8], type: UInt16, class rclass: UInt16 = 1, ttl: UInt32 = 300, rdata: [UInt8]) -> [UInt8] {
        owner + u16(type) + u16(rclass) + u32(ttl) + u16(UInt16(rdata.count)) + rdata
    }

    /// An OPT record (RFC 6891 §6.1.2).
    static func opt(payload: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, extendedCode: UInt8 = 0, options: [UInt8] = []) -> [UInt8] {
        [0] + u16(41) + u16(payload) + [extendedCode, version] + u16(dnssecOK ? 0x8000 : 0) + u16(UInt16(options.count)) + options
    }

    static func pointer(_ offset: Int) -> [UInt8] {
        [0xC0 | UInt8(offset >> 8), UInt8(offset & 0xFF)]
    }

    static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func u32(_ value: UInt32) -> [UInt8] { u16(UInt16(value >> 16)) + u16(UInt16(value & 0xFFFF)) }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8.filter { $0 != UInt8(ascii: " ") })
        precondition(digits.count % 2 == 0)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    // MARK: - Standard packets

    /// `dig pypi.org A`: RD and AD set, EDNS 1232 with an 8-byte client cookie (RFC 7873).
    static let pypiQuery = bytes(
        hex: """
            1234 0120 0001 0000 0000 0001 \
            0470797069036f726700 0001 0001 \
            00 0029 04d0 00 00 0000 000c 000a 0008 0102030405060708
            """)

    /// The answer to ``pypiQuery``: two A records whose owners are pointers to the question (offset 12).
    static let pypiAnswer = bytes(
        hex: """
            1234 8180 0001 0002 0000 0001 \
            0470797069036f726700 0001 0001 \
            c00c 0001 0001 00000e10 0004 976500df \
            c00c 0001 0001 00000e10 0004 976540df \
            00 0029 04d0 00 00 0000 0000
            """)

    static func query(_ name: String, type: UInt16 = 1, id: UInt16 = 0x1234, edns: Bool = false) -> [UInt8] {
        header(id: id, flags: 0x0100, additional: edns ? 1 : 0) + question(Packet.name(name), type: type) + (edns ? opt() : [])
    }

    /// `www.example.com` CNAME `example.net` A 93.184.215.14, the target compressed by pointer.
    static func cnameAnswer(id: UInt16 = 0x1234) -> [UInt8] {
        var bytes = header(id: id, flags: 0x8180, answers: 2) + question(name("www.example.com"))
        // The question name is at 12; the CNAME's RDATA starts 12 bytes into its record.
        let targetOffset = bytes.count + 12
        bytes += record(pointer(12), type: 5, ttl: 300, rdata: name("example.net"))
        bytes += record(pointer(targetOffset), type: 1, ttl: 60, rdata: [93, 184, 215, 14])
        return bytes
    }
}

/// The message of the error `body` throws, or what it returned. Closures infer untyped throws, so the
/// error is cast back here.
func message<T>(_ body: () throws -> T) -> String {
    do {
        return "parsed \(try body())"
    } catch let error as DNSMessageError {
        return error.message
    } catch {
        return "unexpected \(error)"
    }
}
