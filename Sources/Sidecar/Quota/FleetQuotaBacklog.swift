//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What a pod owes the fleet's ledger while the store is away, written when it is back:
/// - cost charged under `on_store_failure: local` (and by settles that could not be written), per
///   window key — at most ``maximumWindows`` (1,024) windows, later ones are not added;
/// - reservations to release whose outcome is unknown (a reserve whose reply timed out may still
///   have run; a settle that failed left its reservation held) — at most ``maximumReleases``
///   (1,024); any beyond expire with `reservation_ttl`.
struct FleetQuotaBacklog: Sendable {
    static let maximumWindows = 1_024
    static let maximumReleases = 1_024

    /// The release script's keys and arguments, for one reservation.
    struct Release: Sendable {
        var keys: [String]
        var arguments: [String]
    }

    private(set) var charges: [String: (charge: Int64, seconds: Int64)] = [:]
    private(set) var releases: [String: Release] = [:]

    var isEmpty: Bool { self.charges.isEmpty && self.releases.isEmpty }

    /// Adds `charge` to the window key `used`, which expires `seconds` after it is written.
    mutating func add(_ charge: Int64, to used: String, seconds: Int64) {
        guard charge > 0, self.charges[used] != nil || self.charges.count < Self.maximumWindows else { return }
        self.charges[used, default: (0, seconds)].charge = QuotaLedger.sum(self.charges[used]?.charge ?? 0, charge)
    }

    mutating func add(release: Release, id: String) {
        guard self.releases[id] != nil || self.releases.count < Self.maximumReleases else { return }
        self.releases[id] = release
    }
}
