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

            With --store, the totals of every pod sharing that store (store: in sidecar.yaml) \
            over --window, grouped by model, provider, task_type or client:
              REDIS_PASSWORD=… llm-sidecar usage report --store redis://redis:6379/0 \
                  --password-env REDIS_PASSWORD --by client,model --window 24h
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

    @Option(help: "Read the fleet's totals from this store (redis://[user[:password]@]host:port/db) instead of usage lines.")
    var store: String?

    @Option(help: "With --store: the environment variable holding the store's password.")
    var passwordEnv: String?

    @Option(help: "With --store: the key_prefix the sidecars use.")
    var keyPrefix = "llm-sidecar:"

    @Option(help: "With --store: 1h, 24h or all (every day the store keeps, up to 400).")
    var window = "all"

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
        try self.validateStore()
    }

    func run() throws {
        if let store = self.store {
            let report: UsageReport
            do {
                report = try self.storeReport(url: store)
            } catch let error as RedisError {
                StandardError.write("llm-sidecar usage report: the store did not answer (\(error.code)): \(error.message)\n")
                throw ExitCode.failure
            }
            print(report.rendered(as: self.format), terminator: "")
            StandardError.write("\(report.total.requests) requests counted from the store (--window \(self.window))\n")
            return
        }
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
