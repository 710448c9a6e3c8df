//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension JSONObject {
    /// A client's request body: JSON (nested at most `maximumDepth` deep) whose top level is an object.
    /// - Throws: ``TranslationError`` (`invalid_request`, no `param`) saying which of the two it is not.
    init(requestBody bytes: some Collection<UInt8>, maximumDepth: Int = JSONValue.defaultMaximumDepth) throws(TranslationError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes, maximumDepth: maximumDepth)
        } catch {
            throw .invalid("The request body is not valid JSON (\(error.description)).", param: nil)
        }
        guard case .object(let object) = value else {
            throw .invalid("The request body must be a JSON object, not \(value.typeName).", param: nil)
        }
        self = object
    }
}
