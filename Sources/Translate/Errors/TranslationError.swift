//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An error raised while reading a client request or translating a provider payload.
///
/// The ``code`` says whose fault it is: ``Code/invalidRequest`` and ``Code/unsupportedFeature``
/// are the client's (HTTP 400), ``Code/malformedUpstreamPayload`` and ``Code/streamProtocolViolation``
/// the provider's (HTTP 502). ``param`` is the JSON path of the offending field, in the form
/// OpenAI uses for its own `param` error field (`messages[2].content`).
public struct TranslationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An opaque error category; new categories may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidRequest = "invalid_request"
            case unsupportedFeature = "unsupported_feature"
            case malformedUpstreamPayload = "malformed_upstream_payload"
            case streamProtocolViolation = "stream_protocol_violation"
        }

        private let base: Base

        /// The client sent a body that is not a valid Chat Completions request.
        public static let invalidRequest = Code(base: .invalidRequest)
        /// The request uses a feature the target provider cannot express.
        public static let unsupportedFeature = Code(base: .unsupportedFeature)
        /// The provider answered with a body that does not parse as its documented format.
        public static let malformedUpstreamPayload = Code(base: .malformedUpstreamPayload)
        /// The provider's event stream broke its own framing rules.
        public static let streamProtocolViolation = Code(base: .streamProtocolViolation)

        public var description: String { self.base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The JSON path of the field at fault, if one is.
    public var param: String?

    public init(_ code: Code, _ message: String, param: String? = nil) {
        self.code = code
        self.message = message
        self.param = param
    }

    /// Whether the client (rather than the provider) is at fault.
    public var isClientError: Bool { self.code == .invalidRequest || self.code == .unsupportedFeature }

    public var description: String {
        if let param { return "\(self.code): \(self.message) (\(param))" }
        return "\(self.code): \(self.message)"
    }

    static func invalid(_ message: String, param: String?) -> TranslationError {
        TranslationError(.invalidRequest, message, param: param)
    }

    static func malformed(_ message: String) -> TranslationError {
        TranslationError(.malformedUpstreamPayload, message)
    }
}
