//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

#if canImport(Glibc)
import Glibc
#endif

/// The process's resident memory, CPU time and start time from `/proc/self`, under the names
/// Prometheus client libraries use (`process_resident_memory_bytes`, …). Empty where `/proc` is
/// missing.
struct ProcessStatistics {
    var residentBytes: Double?
    var cpuSeconds: Double?

    /// Unix time the process started (read once; `sysconf` and `/proc/stat` do not change).
    private static let startTime: Double? = {
        guard let stat = Self.fields(of: "/proc/self/stat"), stat.count > 21, let ticks = Double(stat[21]),
            let boot = Self.bootTime()
        else { return nil }
        return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()

    static func read() -> ProcessStatistics {
        var statistics = ProcessStatistics()
        if let statm = Self.fields(of: "/proc/self/statm"), statm.count > 1, let pages = Double(statm[1]) {
            statistics.residentBytes = pages * Double(sysconf(Int32(_SC_PAGESIZE)))
        }
        if let stat = Self.fields(of: "/proc/self/stat"), stat.count > 14, let user = Double(stat[13]), let system = Double(stat[14]) {
            statistics.cpuSeconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        return statistics
    }

    var families: [MetricFamily] {
        var families: [MetricFamily] = []
        let figures = [
            ("process_resident_memory_bytes", MetricFamily.Kind.gauge, "Resident memory size in bytes.", self.residentBytes),
            ("process_cpu_seconds_total", .counter, "User and system CPU time spent in seconds.", self.cpuSeconds),
            ("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch in seconds.", Self.startTime),
        ]
        for (name, kind, help, value) in figures {
            guard let value else { continue }
            var family = MetricFamily(name, kind, help: help, labels: [])
            family.set(value, [])
            families.append(family)
        }
        return families
    }

    /// The space-separated fields of a small `/proc` file; for `stat`, fields after the command
    /// name (which may hold spaces) keep their documented positions.
    private static func fields(of path: String) -> [Substring]? {
        guard let text = Self.contents(of: path) else { return nil }
        guard path.hasSuffix("/stat"), let close = text.lastIndex(of: ")") else { return text.split(separator: " ") }
        return ["pid", "comm"] + text[text.index(after: close)...].split(separator: " ")
    }

    private static func bootTime() -> Double? {
        guard let text = Self.contents(of: "/proc/stat") else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("btime ") }
        return line.flatMap { Double($0.dropFirst("btime ".count)) }
    }

    private static func contents(of path: String) -> String? {
        FileReader.readAll(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
