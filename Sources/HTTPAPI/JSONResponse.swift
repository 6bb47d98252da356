import Foundation
import Governance
import Hummingbird
import NIOCore
import Replication

/// Building JSON responses from `Value`s.
enum JSONResponse {
    static func make(_ value: Value, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON)))
    }
}
