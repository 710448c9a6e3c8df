//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import ServiceLifecycle
import SidecarModel
import Translate

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the committed day and month spend in `quotas.state_file`, so a restart (a new pod
/// container, a laptop reboot) does not reset the budgets.
///
/// The file is rewritten atomically (a temporary file, `fsync`, `rename`) at most once a second
/// when spend changed, and once more at shutdown after the server drained, so no committed charge
/// is lost on SIGTERM. Minute windows are not kept: they are over before a restart completes.
struct QuotaStateFile: Service {
    let path: String
    let book: QuotaBook
    let logger: Logger

    /// A state file that exists but cannot be read.
    struct Unreadable: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String {
            "quota state file \(self.path) cannot be read (\(self.reason)); move it away to start with empty quotas"
        }
    }

    /// The committed windows in the file; none when it does not exist.
    static func load(_ path: String) throws(Unreadable) -> [QuotaLedger.Key: QuotaLedger.Window] {
        guard let bytes = FileReader.readAll(path) else { return [:] }
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw Unreadable(path: path, reason: "not JSON: \(error)")
        }
        guard case .array(let entries)? = root["windows"] else { throw Unreadable(path: path, reason: "no windows list") }
        var windows: [QuotaLedger.Key: QuotaLedger.Window] = [:]
        for entry in entries {
            guard let scope = entry["scope"]?.stringValue, let currency = entry["currency"]?.stringValue,
                let id = entry["window"]?.intValue, let used = entry["used"]?.intValue
            else { throw Unreadable(path: path, reason: "a window lacks scope, currency, window or used") }
            switch entry["kind"]?.stringValue {
            case "cost_per_day": windows[.init(scope: scope, kind: .costPerDay(currency: currency))] = .init(id: Int64(id), used: Int64(used))
            case "cost_per_month": windows[.init(scope: scope, kind: .costPerMonth(currency: currency))] = .init(id: Int64(id), used: Int64(used))
            default: throw Unreadable(path: path, reason: "unknown window kind")
            }
        }
        return windows
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: .seconds(1))
                self.saveIfChanged()
            }
        }
        self.saveIfChanged()
    }

    func saveIfChanged() {
        guard let windows = self.book.takeChangedWindows() else { return }
        var entries: [JSONValue] = []
        for (key, window) in windows.sorted(by: { "\($0.key.scope)\($0.key.kind)" < "\($1.key.scope)\($1.key.kind)" }) {
            let (kind, currency): (String, String)
            switch key.kind {
            case .costPerDay(let code): (kind, currency) = ("cost_per_day", code)
            case .costPerMonth(let code): (kind, currency) = ("cost_per_month", code)
            case .requestsPerMinute, .tokensPerMinute: continue
            }
            entries.append([
                "scope": .string(key.scope), "kind": .string(kind), "currency": .string(currency),
                "window": .number(JSONNumber(Int(window.id))), "used": .number(JSONNumber(Int(window.used))),
            ])
        }
        let document: JSONValue = ["version": 1, "unit": "picounits (10^-12 of the currency)", "windows": .array(entries)]
        if let failure = Self.writeAtomically(document.serialized() + [UInt8(ascii: "\n")], to: self.path) {
            self.logger.error("could not save the quota state", metadata: ["path": "\(self.path)", "error": "\(failure)"])
        }
    }

    /// Writes to `path.tmp`, syncs it, and renames it over `path`; the reason when that failed.
    private static func writeAtomically(_ bytes: [UInt8], to path: String) -> String? {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else { return String(cString: strerror(errno)) }
        return nil
    }
}
