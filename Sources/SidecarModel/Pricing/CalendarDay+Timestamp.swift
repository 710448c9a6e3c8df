//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension CalendarDay {
    /// Unix seconds of an RFC 3339 timestamp: `2026-11-27T03:07:26.495Z` (what usage lines
    /// write; fractions are dropped) or another offset (`2026-11-27T08:07:26+05:00`); `nil` for
    /// anything else, a bare date included.
    package static func unixSeconds(ofTimestamp text: some StringProtocol) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19, let date = CalendarDay(parsing: String(decoding: bytes[0..<10], as: UTF8.self)),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            let hours = Self.number(bytes[11..<13]), let minutes = Self.number(bytes[14..<16]), let seconds = Self.number(bytes[17..<19])
        else { return nil }
        var offset = 0
        if let sign = bytes.lastIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }), sign > 18, bytes.count - sign == 6 {
            guard let offsetHours = Self.number(bytes[(sign + 1)..<(sign + 3)]), let offsetMinutes = Self.number(bytes[(sign + 4)..<(sign + 6)])
            else { return nil }
            offset = (offsetHours * 60 + offsetMinutes) * 60 * (bytes[sign] == UInt8(ascii: "-") ? -1 : 1)
        }
        return Int64(date.daysSinceEpoch) * 86_400 + Int64(hours * 3600 + minutes * 60 + seconds - offset)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
