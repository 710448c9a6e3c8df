//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SidecarModel

/// `llm-sidecar token new --name NAME`: a fresh client token, printed once, and the
/// configuration lines that admit it (only its SHA-256 is ever stored).
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create client tokens.",
        subcommands: [New.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new random client token and the sidecar.yaml lines for it.")

        @Option(help: "The client's name, as it appears in usage lines and quotas.")
        var name: String

        func validate() throws {
            guard !self.name.isEmpty, self.name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw ValidationError("--name may contain letters, digits, '-', '_' and '.' only")
            }
        }

        func run() {
            let token = Self.newToken()
            print(
                """
                Token for client '\(self.name)' (shown once: give it to the application as its OpenAI API key):

                  \(token)

                Add to sidecar.yaml (the sidecar stores only the hash):

                clients:
                  \(self.name):
                    token_sha256: \(SHA256.hex(token.utf8))
                    # models: [deepseek-chat, "qwen-*"]   # optional: the models it may use
                """
            )
        }

        /// `sk-sidecar-` and 32 random bytes in base64url (256 bits of entropy).
        static func newToken() -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
            var bits = 0
            var buffer = 0
            var characters: [UInt8] = []
            for byte in SHA256.randomBytes(32) {
                buffer = buffer << 8 | Int(byte)
                bits += 8
                while bits >= 6 {
                    bits -= 6
                    characters.append(alphabet[(buffer >> bits) & 63])
                }
            }
            if bits > 0 { characters.append(alphabet[(buffer << (6 - bits)) & 63]) }
            return "sk-sidecar-" + String(decoding: characters, as: UTF8.self)
        }
    }
}
