//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An OpenAI `image_url` as native dialects need it: inline base64 data or a remote URL.
public enum ImageSource: Sendable, Hashable {
    /// From a `data:<media type>;base64,<data>` URL.
    case base64(mediaType: String, data: String)
    /// An `http(s)://` URL.
    case url(String)

    /// Reads an `image_url.url` value; `param` names it in the error.
    /// - Throws: a client error for a `data:` URL that is not base64, or another scheme.
    public init(url: String, param: String) throws(TranslationError) {
        if url.hasPrefix("data:") {
            let header = url.dropFirst("data:".count).prefix { $0 != "," }
            guard header.hasSuffix(";base64"), url.count > "data:".count + header.count + 1 else {
                throw .invalid("Only base64 data URLs are supported for images.", param: param)
            }
            let mediaType = header.dropLast(";base64".count)
            self = .base64(
                mediaType: mediaType.isEmpty ? "application/octet-stream" : String(mediaType),
                data: String(url.dropFirst("data:".count + header.count + 1))
            )
        } else if url.hasPrefix("https://") || url.hasPrefix("http://") {
            self = .url(url)
        } else {
            throw .invalid("An image URL must be an http(s) URL or a base64 data URL.", param: param)
        }
    }

    /// The media type guessed from a URL's extension (`image/png` for `….png`), for providers
    /// that want one with remote files; `nil` when unknown.
    public static func mediaType(forURL url: String) -> String? {
        let path = url.prefix { $0 != "?" && $0 != "#" }.lowercased()
        let types = [
            ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".pdf": "application/pdf",
        ]
        return types.first { path.hasSuffix($0.key) }?.value
    }
}
