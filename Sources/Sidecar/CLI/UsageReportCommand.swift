//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SidecarModel

/// `llm-sidecar usage report`: sums the cost and tokens of usage lines from files or standard
/// input, grouped by fields.
struct UsageReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Sum the cost and tokens of usage lines, grouped by any of their fields.",
        discussion: """
            Reads logs that contain usage lines — files, or standard input when none is given \
            or for `-` — and skips everything else: diagnostic log lines, other JSON, text, and \
            prefixes such as those of `kubectl logs --prefix` or `--timestamps`. Costs are exact \
            sums per currency; requests whose cost is null are counted as unpriced, never as free.

            Examples:
              kubectl logs -l app=shop -c llm-sidecar --prefix --tail=-1 \\
                  | llm-sidecar usage report --by k8s.pod.name,model
              llm-sidecar usage report usage-*.jsonl --by month,provider --format csv
              llm-sidecar usage report usage.jsonl --by day --since 2026-11-01
            """
    )

    @Argument(help: "Files with usage lines (none or '-': standard input).")
    var files: [String] = []

    @Option(
        help: """
            Comma-separated fields to group by: any field of the usage lines (model, upstream_model, \
            client, task_type, outcome…; provider and operation stand for gen_ai.provider.name and \
            gen_ai.operation.name), a label such as k8s.pod.name, or day or month (UTC, from timestamp).
            """
    )
    var by = "model"

    @Option(help: "table, csv or json.")
    var format = UsageReport.Format.table

    @Option(help: "Count only requests on or after this UTC day (YYYY-MM-DD).")
    var since: String?

    @Option(help: "Count only requests on or before this UTC day (YYYY-MM-DD).")
    var until: String?

    var fields: [String] {
        self.by.split(separator: ",").map { String($0.trimmed) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        guard !self.fields.isEmpty else { throw ValidationError("--by needs at least one field") }
        for (name, value) in [("--since", self.since), ("--until", self.until)] {
            if let value, CalendarDay(parsing: value) == nil { throw ValidationError("\(name) must be a date YYYY-MM-DD, not '\(value)'") }
        }
        if let since = self.since.flatMap(CalendarDay.init(parsing:)), let until = self.until.flatMap(CalendarDay.init(parsing:)), until < since {
            throw ValidationError("--until (\(until)) is before --since (\(since))")
        }
    }

    func run() throws {
        var report = UsageReport(
            groupBy: self.fields,
            since: self.since.flatMap(CalendarDay.init(parsing:)),
            until: self.until.flatMap(CalendarDay.init(parsing:))
        )
        for name in self.files.isEmpty ? ["-"] : self.files {
            do {
                let file = name == "-" ? try InputFile(standardInput: ()) : try InputFile(path: name)
                while let line = try file.readLine() { report.add(line: line) }
            } catch {
                StandardError.write("llm-sidecar usage report: \(error)\n")
                throw ExitCode.failure
            }
        }
        print(report.rendered(as: self.format), terminator: "")
        let lines = report.lines
        StandardError.write(
            "\(lines.usage) usage lines counted; skipped \(lines.otherJSON) other JSON lines, \(lines.notJSON) other lines"
                + (lines.outOfRange > 0 ? ", \(lines.outOfRange) usage lines outside --since/--until" : "") + "\n"
        )
    }
}

extension UsageReport.Format: ExpressibleByArgument {}
