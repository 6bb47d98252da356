import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Replication

/// Headless Chromium driven through Debian's `chromedriver` (the W3C WebDriver protocol over loopback HTTP).
/// Every call is bounded by a timeout; `close()` ends the session and the driver process this started.
public final class Browser: @unchecked Sendable {
    public static let driverPath = "/usr/bin/chromedriver"
    private let driver: Process
    private let base: String
    private let port: Int
    private let session: String

    /// Nil when chromedriver is not installed. `phone` emulates a touch phone of that CSS size (390×844: an iPhone 14)
    /// instead of a desktop window.
    public static func start(width: Int = 1366, height: Int = 768, phone: (width: Int, height: Int)? = nil) async throws -> Browser? {
        guard FileManager.default.isExecutableFile(atPath: driverPath) else { return nil }
        // A port nobody listens on now (another driver of this run, a test server): a port the kernel just gave out
        // and took back, which chromedriver then binds. Three tries, each waiting up to 30 s for the driver (a loaded
        // 2-core machine starts it slowly).
        var started: (Process, Int)?
        for _ in 0..<3 where started == nil {
            let port = try IPv4.freePort()
            let driver = Process()
            driver.executableURL = URL(fileURLWithPath: driverPath)
            driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
            driver.standardOutput = FileHandle.nullDevice
            driver.standardError = FileHandle.nullDevice
            try driver.run()
            for _ in 0..<300 {
                if let status = try? await call("GET", "http://127.0.0.1:\(port)/status", nil), status["value"]["ready"] == .bool(true) {
                    started = (driver, port)
                    break
                }
                if !driver.isRunning { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            if started == nil {
                if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
                driver.waitUntilExit()
            }
        }
        guard let (driver, port) = started else { throw BrowserError.driver("chromedriver did not start") }
        let base = "http://127.0.0.1:\(port)"
        var options: [String: Value] = ["binary": "/usr/bin/chromium", "args": .strings([
            "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(phone?.width ?? width),\(phone?.height ?? height)",
        ])]
        if let phone {
            options["mobileEmulation"] = .object(["deviceMetrics": .object([
                "width": .int(Int64(phone.width)), "height": .int(Int64(phone.height)), "pixelRatio": .int(2), "touch": .bool(true), "mobile": .bool(true),
            ]), "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"])
        }
        let capabilities: Value = .object(["capabilities": .object(["alwaysMatch": .object([
            "browserName": "chrome", "goog:chromeOptions": .object(options),
        ])])])
        do {
            let created = try await call("POST", base + "/session", capabilities)
            guard let session = created["value"]["sessionId"].string else { throw BrowserError.driver(created.canonicalJSON) }
            return Browser(driver: driver, port: port, session: session)
        } catch {
            kill(driver.processIdentifier, SIGKILL)
            driver.waitUntilExit()
            throw error
        }
    }

    private init(driver: Process, port: Int, session: String) {
        self.driver = driver
        self.port = port
        self.base = "http://127.0.0.1:\(port)"
        self.session = session
    }

    /// Loads a page and waits for it.
    public func open(_ url: String) async throws {
        _ = try await command("POST", "/url", .object(["url": .string(url)]))
    }

    /// Runs a script in the page and returns what it returned.
    public func run(_ script: String) async throws -> Value {
        try await command("POST", "/execute/sync", .object(["script": .string(script), "args": .list([])]))["value"]
    }

    /// Chooses a file for the file input `selector` matches, as a person picking a photo would.
    public func choose(file path: String, for selector: String) async throws {
        let found = try await command("POST", "/element", .object(["using": "css selector", "value": .string(selector)]))
        guard let element = found["value"].object?.values.first?.string else { throw BrowserError.driver("no element \(selector)") }
        _ = try await command("POST", "/element/\(element)/value", .object(["text": .string(path)]))
    }

    /// A Chrome DevTools Protocol command (network conditions, device metrics), through chromedriver.
    @discardableResult
    public func devtools(_ command: String, _ parameters: Value = .object([:])) async throws -> Value {
        try await self.command("POST", "/goog/cdp/execute", .object(["cmd": .string(command), "params": parameters]))["value"]
    }

    /// Runs `script` in the page until it returns true, at most `timeout`; whether it did.
    public func waitUntil(_ script: String, timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await run(script)) == .bool(true) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// A PNG screenshot of the viewport.
    /// Keeps a screenshot as `<name>.png` when `SHEQU_SCREENSHOTS` names a directory (the README's come from there).
    public func keepScreenshot(_ name: String) async throws {
        guard let directory = ProcessInfo.processInfo.environment["SHEQU_SCREENSHOTS"] else { return }
        try Self.keep(try await screenshot(), name, in: directory)
    }

    public static func keep(_ shot: Data, _ name: String, in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try shot.write(to: URL(fileURLWithPath: directory).appendingPathComponent("\(name).png"))
    }

    public func screenshot() async throws -> Data {
        guard let encoded = try await command("GET", "/screenshot", nil)["value"].string, let data = Data(base64Encoded: encoded) else {
            throw BrowserError.driver("no screenshot")
        }
        return data
    }

    /// Ends the session (closing Chromium) and the driver: politely via /shutdown, then SIGKILL after 5 s.
    public func close() async {
        _ = try? await LoopbackHTTP.request(method: "DELETE", host: "127.0.0.1", port: port, path: "/session/\(session)", json: nil, timeout: .seconds(20))
        _ = try? await LoopbackHTTP.request(method: "GET", host: "127.0.0.1", port: port, path: "/shutdown", json: nil, timeout: .seconds(5))
        for _ in 0..<50 where driver.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
        driver.waitUntilExit()
    }

    private func command(_ method: String, _ path: String, _ body: Value?) async throws -> Value {
        let answer = try await Self.call(method, base + "/session/\(session)" + path, body)
        if let error = answer["value"]["error"].string { throw BrowserError.driver("\(error): \(answer["value"]["message"].string ?? "")") }
        return answer
    }

    /// One request to the driver. Not URLSession: chromedriver writes headers without a space after the colon,
    /// which Foundation's HTTP parser refuses; NIO's accepts them.
    private static func call(_ method: String, _ url: String, _ body: Value?) async throws -> Value {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else { throw BrowserError.driver("bad URL \(url)") }
        let text = try await LoopbackHTTP.request(method: method, host: host, port: port, path: parsed.path, json: body?.canonicalJSON)
        do { return try Value(json: text) } catch { throw BrowserError.driver("\(method) \(url): \(text.prefix(200))") }
    }
}

public enum BrowserError: Error, CustomStringConvertible {
    case driver(String)
    public var description: String { if case .driver(let message) = self { "chromedriver: \(message)" } else { "" } }
}

/// A minimal HTTP/1.1 client for loopback test peers: one request per connection, bounded by a timeout.
enum LoopbackHTTP {
    static func request(method: String, host: String, port: Int, path: String, json: String?, timeout: TimeAmount = .seconds(60)) async throws -> String {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: String.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Collector(promise: promise))
                }
            }
            .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)  // a promise must be completed, even when nothing was sent
            throw error
        }
        var headers = HTTPHeaders([("Host", "\(host):\(port)"), ("Connection", "close")])
        let body = json.map { ByteBuffer(string: $0) }
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path.isEmpty ? "/" : path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timer = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(BrowserError.driver("\(method) \(path): no answer in time")) }
        defer { timer.cancel(); channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<String>
        var body = ByteBuffer()
        init(promise: EventLoopPromise<String>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: break
            case .body(var part): body.writeBuffer(&part)
            case .end: promise.succeed(String(buffer: body))
            }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { promise.fail(error) }
        func channelInactive(context: ChannelHandlerContext) { promise.fail(BrowserError.driver("connection closed early")) }
    }
}
