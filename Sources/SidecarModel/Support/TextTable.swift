//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A plain-text table for terminals: a header, a rule, rows, and rules before marked rows
/// (totals). Text columns are left-aligned, numeric ones right-aligned; widths count
/// characters, so CJK model names widen a column by one per character.
package struct TextTable: Sendable {
    package enum Alignment: Sendable {
        case left
        case right
    }

    package var headers: [String]
    package var alignments: [Alignment]
    private var rows: [(cells: [String], ruleBefore: Bool)] = []

    package init(headers: [String], alignments: [Alignment]) {
        self.headers = headers
        self.alignments = alignments
    }

    /// Adds a row; `ruleBefore` draws a line above it (for a totals row).
    package mutating func append(_ cells: [String], ruleBefore: Bool = false) {
        self.rows.append((cells, ruleBefore))
    }

    /// The table, one line per row, each ending in a newline.
    package func rendered() -> String {
        var widths = self.headers.map(\.count)
        for row in self.rows {
            for (index, cell) in row.cells.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        var text = self.line(self.headers, widths: widths) + rule
        for row in self.rows {
            if row.ruleBefore { text += rule }
            text += self.line(row.cells, widths: widths)
        }
        return text
    }

    private func line(_ cells: [String], widths: [Int]) -> String {
        var parts: [String] = []
        for (index, width) in widths.enumerated() {
            let cell = index < cells.count ? cells[index] : ""
            let padding = String(repeating: " ", count: max(0, width - cell.count))
            parts.append(self.alignments[index] == .right ? padding + cell : cell + padding)
        }
        var line = parts.joined(separator: "  ")
        while line.last == " " { line.removeLast() }
        return line + "\n"
    }
}
