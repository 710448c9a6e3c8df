//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// Random numbers for identifiers, load balancing and jitter, without a system call per draw.
///
/// `SystemRandomNumberGenerator` asks the kernel (`getrandom`) on every draw — four system calls
/// per proxied request, the largest item in the sidecar's syscall count. (OpenSSL's `RAND_bytes`
/// is no better: it calls `getpid` per draw to notice a fork.) This is SplitMix64 over one
/// process-wide counter seeded once from the system: one atomic add and a few multiplications
/// per 64 well-mixed bits, from any thread.
///
/// Someone who sees one output can compute the next ones, so this is for ids and choices, never
/// for secrets: client tokens come from OpenSSL (`SHA256.randomBytes`).
package struct FastRandom: RandomNumberGenerator {
    /// SplitMix64's increment, the golden ratio in 64 bits.
    private static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let counter = Atomic<UInt64>(Self.seed())
    private static let hexadecimal = Array("0123456789abcdef".utf8)

    package init() {}

    package mutating func next() -> UInt64 {
        var value = Self.counter.wrappingAdd(Self.gamma, ordering: .relaxed).newValue
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// `prefix` followed by exactly `digits` lowercase hexadecimal digits (1–32), e.g.
    /// `identifier("req_", digits: 24)`: 96 random bits.
    package static func identifier(_ prefix: String, digits: Int) -> String {
        precondition((1...32).contains(digits), "an identifier holds 1 to 32 random digits")
        var generator = FastRandom()
        var bits = (generator.next(), generator.next())
        let length = prefix.utf8.count + digits
        return String(unsafeUninitializedCapacity: length) { buffer in
            var index = 0
            for byte in prefix.utf8 {
                buffer[index] = byte
                index += 1
            }
            for _ in 0..<digits {
                buffer[index] = Self.hexadecimal[Int(bits.0 & 0xF)]
                bits = (bits.0 >> 4 | bits.1 << 60, bits.1 >> 4)
                index += 1
            }
            return length
        }
    }

    private static func seed() -> UInt64 {
        var system = SystemRandomNumberGenerator()
        return system.next()
    }
}
