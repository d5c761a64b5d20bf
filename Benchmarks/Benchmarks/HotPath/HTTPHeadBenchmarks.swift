import Benchmark
import NIOCore
@_spi(Benchmarks) import PortholeProxy

/// The request and response heads: finding the end, parsing, and writing the head the sandbox sees.
func httpHeadBenchmarks() {
    Benchmark("ASCII.headEnd.request") { benchmark in
        Fixtures.request.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                blackHole(ASCII.headEnd(bytes))
            }
        }
    }

    // The proxy keeps one `RequestHead` per connection and parses every request of a keep-alive
    // connection into it, so its field storage is already there: as here, after one parse outside the
    // measurement. (The first request of a connection grows the array: 4 mallocs for this head.)
    Benchmark("RequestHead.parse") { benchmark in
        var head = RequestHead()
        Fixtures.request.withUnsafeBytes { bytes in
            parse(&head, bytes)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                parse(&head, bytes)
                blackHole(head.hostField)
            }
        }
    }

    Benchmark("RequestHeadWriter.write") { benchmark in
        measureWrite(benchmark, Fixtures.request)
    }

    // The slow path: Porthole's own cookie is cut out of the Cookie field.
    Benchmark("RequestHeadWriter.write.sessionCookie") { benchmark in
        measureWrite(benchmark, Fixtures.requestWithSessionCookie)
    }

    // Reused per upstream connection like the request head: one parse outside the measurement.
    Benchmark("ResponseHead.parse") { benchmark in
        var head = ResponseHead()
        Fixtures.response.withUnsafeBytes { bytes in
            parse(&head, bytes)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                parse(&head, bytes)
                blackHole(head.framing)
            }
        }
    }
}

private func parse(_ head: inout RequestHead, _ bytes: UnsafeRawBufferPointer) {
    do {
        try head.parse(bytes, end: bytes.count)
    } catch {
        fatalError("the request fixture does not parse: \(error)")
    }
}

private func parse(_ head: inout ResponseHead, _ bytes: UnsafeRawBufferPointer) {
    do {
        try head.parse(bytes, end: bytes.count, requestWasHEAD: false)
    } catch {
        fatalError("the response fixture does not parse: \(error)")
    }
}

/// The writer alone: the head is parsed once, outside the measurement, and the output buffer reused,
/// as the proxy reuses its per-loop `ReusableBuffer`.
private func measureWrite(_ benchmark: Benchmark, _ request: [UInt8]) {
    var head = RequestHead()
    let rewrite = ForwardingRewrite(
        clientAddress: "203.0.113.7",
        trustForwardedFields: false,
        scheme: "https",
        listenerPort: "8443",
        rewriteHostToLocalhost: false,
        upstreamPort: Fixtures.port,
        strippedTarget: nil
    )
    var buffer = ByteBufferAllocator().buffer(capacity: 0)
    request.withUnsafeBytes { bytes in
        parse(&head, bytes)
        // The room the proxy takes from its buffer for this head.
        buffer.reserveCapacity(RequestHeadWriter.maximumBytes(for: head, headBytes: request.count, rewrite: rewrite))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.clear()
            RequestHeadWriter.write(head, from: bytes, rewrite: rewrite, into: &buffer)
        }
        benchmark.stopMeasurement()
        blackHole(buffer.readableBytes)
    }
}
