//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#endif

/// Hands memory the allocator keeps after a burst back to the operating system.
///
/// glibc's `malloc_trim` is looked up at run time (Swift's Glibc module does not export
/// `<malloc.h>`); on other C libraries this does nothing.
package enum MemoryTrim {
    private typealias Trim = @convention(c) (Int) -> Int32

    private static let function: Trim? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: Trim.self)
        #else
        return nil
        #endif
    }()

    package static func releaseFreeMemory() {
        _ = Self.function?(0)
    }
}
