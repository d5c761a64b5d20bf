import Foundation
import NIOCore
import NIOPosix
import PortholeNIOUtilities
import PortholeTLS
import PortholeTestSupport

// MARK: - Small concurrency helpers

/// A value shared between the event loop, process reader threads and the test.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        self.lock.lock()
        defer { self.lock.unlock() }
        return body(&self.value)
    }
    var current: Value { self.withLock { $0 } }
}

/// Polls `condition` until it holds: a readiness check, not a fixed sleep.
func waitUntil(
    timeout: Duration = .seconds(10),
    _ what: String,
    _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

// MARK: - Temporary directories and certificates

final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "porthole-tls-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp failed")
        }
        self.path = String(cString: made)
    }

    func file(_ name: String) -> String { self.path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: self.path) }
}

/// Two certificate sets signed by one development CA: the preview wildcard (default) and another name.
struct TestCertificates {
    let directory: TemporaryDirectory
    let preview: DevelopmentCertificates.Files
    let other: DevelopmentCertificates.Files
    var caPath: String { self.preview.certificateAuthorityPath }

    init() throws {
        self.directory = try TemporaryDirectory()
        self.preview = try DevelopmentCertificates.generate(directory: self.directory.file("preview"))
        // Same CA, so one --cacert verifies both.
        try FileManager.default.createDirectory(atPath: self.directory.file("other"), withIntermediateDirectories: true)
        for name in ["dev-ca.pem", "dev-ca.key"] {
            try FileManager.default.copyItem(atPath: self.directory.file("preview/\(name)"), toPath: self.directory.file("other/\(name)"))
        }
        self.other = try DevelopmentCertificates.generate(
            directory: self.directory.file("other"),
            names: ["other.example.test"]
        )
    }

    func configuration(
        handshakeTimeout: TimeAmount = .seconds(10),
        shutdownTimeout: TimeAmount = .seconds(3)
    ) -> TLSConfiguration {
        TLSConfiguration(
            certificates: [self.preview.certificateFiles, self.other.certificateFiles],
            handshakeTimeout: handshakeTimeout,
            shutdownTimeout: shutdownTimeout
        )
    }
}

// MARK: - Server under test

/// What the server side saw: handshake events and errors, in order.
final class ServerEvents: Sendable {
    let handshakes = Locked<[TLSHandshakeCompleted]>([])
    let errors = Locked<[any Error]>([])
    let closedConnections = Locked(0)
    /// When the last connection went inactive.
    let becameInactive = Locked<ContinuousClock.Instant?>(nil)
    /// Every accepted connection, so a test can close one from the server side.
    let channels = Locked<[any Channel]>([])

    func tlsErrors() -> [TLSError] { self.errors.current.compactMap { $0 as? TLSError } }
}

struct ServerOptions: Sendable {
    var autoRead = true
    var greeting: String? = nil
    /// Every connection on an event loop writes its ciphertext into that loop's one ReusableBuffer.
    var sharedWriteBuffer = false
}

/// A real NIO server on 127.0.0.1 with TLSServerHandler and a tiny HTTP/1.1 responder.
final class TestServer: Sendable {
    let channel: any Channel
    let events: ServerEvents
    var port: Int { self.channel.localAddress!.port! }

    private init(channel: any Channel, events: ServerEvents) {
        self.channel = channel
        self.events = events
    }

    static func start(store: TLSCertificateStore, options: ServerOptions = .init()) async throws -> TestServer {
        let events = ServerEvents()
        // One per event loop, each only ever used on its own loop.
        let writeBuffers = Locked<[ObjectIdentifier: ReusableBuffer]>([:])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: options.autoRead)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let writeBuffer =
                        options.sharedWriteBuffer
                        ? writeBuffers.withLock { $0[ObjectIdentifier(channel.eventLoop), default: ReusableBuffer()] }
                        : nil
                    let tls = try TLSServerHandler(store: store, allocator: channel.allocator, writeBuffer: writeBuffer)
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHandler(
                        PreviewResponder(events: events, manualRead: !options.autoRead, greeting: options.greeting)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestServer(channel: channel, events: events)
    }

    func stop() async throws {
        try await self.channel.close()
    }
}

/// Answers `GET /` with the TLS parameters it saw, echoes the body of `POST /echo` as it streams in,
/// and closes after the response when asked to (`Connection: close`).
final class PreviewResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let events: ServerEvents
    private let manualRead: Bool
    private let greeting: String?
    private var head = ByteBuffer()
    private var handshake: TLSHandshakeCompleted?
    private var remainingBody = 0
    private var closeAfterResponse = false
    private var readThisCycle = false

    init(events: ServerEvents, manualRead: Bool, greeting: String?) {
        self.events = events
        self.manualRead = manualRead
        self.greeting = greeting
    }

    func channelActive(context: ChannelHandlerContext) {
        if let greeting {
            // Written before the handshake: TLSServerHandler must buffer and replay it.
            context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: greeting)), promise: nil)
        }
        self.events.channels.withLock { $0.append(context.channel) }
        if self.manualRead { context.read() }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.events.closedConnections.withLock { $0 += 1 }
        self.events.becameInactive.withLock { $0 = .now }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            self.handshake = handshake
            self.events.handshakes.withLock { $0.append(handshake) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.events.errors.withLock { $0.append(error) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        self.readThisCycle = true
        while buffer.readableBytes > 0 {
            if self.remainingBody > 0 {
                let slice = buffer.readSlice(length: min(self.remainingBody, buffer.readableBytes))!
                self.remainingBody -= slice.readableBytes
                context.write(Self.wrapOutboundOut(slice), promise: nil)
                if self.remainingBody == 0 { self.finishResponse(context: context) }
                continue
            }
            self.head.writeBuffer(&buffer)
            guard let request = self.parseHead() else { return }
            self.respond(to: request, leftover: &buffer, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        if self.manualRead, self.readThisCycle { context.read() }
        self.readThisCycle = false
    }

    private struct Request {
        var path: String
        var contentLength: Int
        var close: Bool
    }

    private func parseHead() -> Request? {
        let text = String(buffer: self.head)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<end.lowerBound].split(separator: "\r\n")
        let path = lines.first.map { String($0.split(separator: " ")[1]) } ?? "/"
        var contentLength = 0
        var close = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.count == 2 else { continue }
            if parts[0] == "content-length" { contentLength = Int(parts[1]) ?? 0 }
            if parts[0] == "connection", parts[1] == "close" { close = true }
        }
        // Whatever followed the head is body: hand it back.
        let headLength = text.utf8.distance(from: text.startIndex, to: end.upperBound)
        self.head.moveReaderIndex(forwardBy: headLength)
        return Request(path: path, contentLength: contentLength, close: close)
    }

    private func respond(to request: Request, leftover: inout ByteBuffer, context: ChannelHandlerContext) {
        var body = self.head
        self.head = ByteBuffer()
        body.writeBuffer(&leftover)
        self.closeAfterResponse = request.close
        if request.path == "/echo" {
            let head = "HTTP/1.1 200 OK\r\ncontent-length: \(request.contentLength)\r\n\r\n"
            context.write(Self.wrapOutboundOut(ByteBuffer(string: head)), promise: nil)
            self.remainingBody = request.contentLength
            if request.contentLength == 0 { self.finishResponse(context: context) }
            leftover = body  // processed by the caller's loop as body
        } else {
            let text = "sni=\(self.handshake?.serverName ?? "-") alpn=\(self.handshake?.negotiatedProtocol ?? "-")\n"
            let head = "HTTP/1.1 200 OK\r\ncontent-length: \(text.utf8.count)\r\ncontent-type: text/plain\r\n\r\n"
            context.write(Self.wrapOutboundOut(ByteBuffer(string: head + text)), promise: nil)
            self.finishResponse(context: context)
            leftover = ByteBuffer()
        }
    }

    private func finishResponse(context: ChannelHandlerContext) {
        guard self.closeAfterResponse else { return }
        context.flush()
        context.close(promise: nil)
    }
}

// MARK: - External peers (curl, openssl s_client)

struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var output: String { self.stdout + self.stderr }
}

/// Runs a command to completion (killing it after `timeout`), feeding `input` on stdin.
func run(
    _ executable: String,
    _ arguments: [String],
    input: Data = Data(),
    timeout: TimeInterval = 30
) async throws -> ProcessResult {
    let process = try PeerProcess(executable, arguments)
    await process.send(input)
    process.closeInput()
    let status = try await process.waitForExit(timeout: timeout)
    return ProcessResult(status: status, stdout: process.stdout, stderr: process.stderr)
}

/// A running peer whose output is collected as it arrives, so a test can wait for a line.
/// Spawned with ``SpawnedProcess`` (not Foundation's `Process`, whose `run()` can crash on Linux).
final class PeerProcess: Sendable {
    private let process: SpawnedProcess
    private let name: String

    init(_ executable: String, _ arguments: [String]) throws {
        self.name = URL(fileURLWithPath: executable).lastPathComponent
        self.process = try SpawnedProcess(executable, arguments)
    }

    deinit { self.kill() }

    var stdout: String { String(decoding: self.process.standardOutput.data, as: UTF8.self) }
    var stderr: String { String(decoding: self.process.standardError.data, as: UTF8.self) }
    var isRunning: Bool { self.process.isRunning }

    /// Writes from another thread: a large input fills the pipe, and blocking the test's thread while
    /// the peer waits for us would stall other tests too.
    func send(_ data: Data) async {
        guard !data.isEmpty else { return }
        let process = self.process
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.write(data)
                done.resume()
            }
        }
    }

    func send(_ text: String) async { await self.send(Data(text.utf8)) }

    func closeInput() { self.process.closeInput() }

    func waitForOutput(containing text: String, timeout: Duration = .seconds(10)) async throws {
        try await waitUntil(timeout: timeout, "\"\(text)\" from \(self.name); got: \(self.stdout)\(self.stderr)") {
            self.stdout.contains(text)
        }
    }

    /// Waits for exit and for both output streams to be drained.
    func waitForExit(timeout: TimeInterval) async throws -> Int32 {
        do {
            try await waitUntil(timeout: .seconds(timeout), "process exit") {
                !self.process.isRunning && self.process.standardOutput.isFinished && self.process.standardError.isFinished
            }
        } catch {
            self.kill()
            throw TestFailure("\(error); stdout: \(self.stdout.suffix(2000)) stderr: \(self.stderr.suffix(2000))")
        }
        return self.process.terminationStatus ?? -1
    }

    func kill() {
        self.process.signal(SIGKILL)
    }

    /// Freezes the peer: the kernel still holds its socket open, but it answers nothing.
    func stop() {
        self.process.signal(SIGSTOP)
    }
}

enum Peer {
    static let openssl = "/usr/bin/openssl"
    static let curl = "/usr/bin/curl"

    /// `openssl s_client` that handshakes, prints what it negotiated, and leaves (stdin is empty).
    static func handshake(port: Int, _ extra: [String]) async throws -> ProcessResult {
        try await run(openssl, ["s_client", "-connect", "127.0.0.1:\(port)"] + extra)
    }
}
