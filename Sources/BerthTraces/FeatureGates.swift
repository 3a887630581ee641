import BerthCore
import Foundation

/// kube-scheduler's `--feature-gates` for the gates whose defaults differ across the Kubernetes
/// versions Berth reproduces. Berth's defaults are the current upstream ones (every gate here
/// on); turning one off gives an older version's behaviour, as a cluster with that gate off
/// behaves: the API server drops the fields a disabled gate guards, so the scheduler never sees
/// them.
///
/// | gate | default on since | off means |
/// |---|---|---|
/// | MinDomainsInPodTopologySpread | v1.27 (off in v1.26) | `minDomains` is dropped (treated as 1) |
/// | MatchLabelKeysInPodTopologySpread | v1.27 (off in v1.26) | spread `matchLabelKeys` dropped |
/// | NodeInclusionPolicyInPodTopologySpread | v1.26 | `nodeAffinityPolicy`/`nodeTaintsPolicy` dropped (Honor/Ignore) |
/// | MatchLabelKeysInPodAffinity | v1.31 | affinity `matchLabelKeys`/`mismatchLabelKeys` dropped |
/// | PodSchedulingReadiness | v1.27 (off in v1.26) | `schedulingGates` dropped |
/// | SchedulerQueueingHints | v1.32 | retries on every registered event, without hints |
public struct FeatureGates: Sendable, Equatable {
  public enum Gate: String, CaseIterable, Sendable {
    case minDomainsInPodTopologySpread = "MinDomainsInPodTopologySpread"
    case matchLabelKeysInPodTopologySpread = "MatchLabelKeysInPodTopologySpread"
    case nodeInclusionPolicyInPodTopologySpread = "NodeInclusionPolicyInPodTopologySpread"
    case matchLabelKeysInPodAffinity = "MatchLabelKeysInPodAffinity"
    case podSchedulingReadiness = "PodSchedulingReadiness"
    case schedulerQueueingHints = "SchedulerQueueingHints"
  }

  /// Gates turned off; every other gate is on.
  public private(set) var disabled: Set<Gate> = []

  public init() {}

  public func isEnabled(_ gate: Gate) -> Bool { !disabled.contains(gate) }

  /// Parses kube-scheduler's flag syntax: `Gate=true,Other=false` (a gate named twice takes
  /// the last value, as upstream's map does).
  public init(parsing text: String) throws(InputError) {
    for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
      let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      guard parts.count == 2, !parts[0].isEmpty else {
        throw InputError(
          file: "--feature-gates", "expected Gate=true or Gate=false, found \"\(Escaped(entry))\"")
      }
      guard let gate = Gate(rawValue: parts[0]) else {
        throw InputError(
          file: "--feature-gates",
          "unknown gate \"\(Escaped(parts[0]))\" (Berth models \(Gate.allCases.map(\.rawValue).joined(separator: ", ")))"
        )
      }
      switch parts[1].lowercased() {
      case "true": disabled.remove(gate)
      case "false": disabled.insert(gate)
      default:
        throw InputError(
          file: "--feature-gates", field: gate.rawValue,
          "expected true or false, found \"\(Escaped(parts[1]))\"")
      }
    }
  }

  /// The pods as the API server would have stored them with these gates.
  public func apply(to pods: [PodSpec]) -> [PodSpec] {
    guard !disabled.isEmpty else { return pods }
    return pods.map { pod in
      var p = pod
      for i in p.topologySpreadConstraints.indices {
        if !isEnabled(.minDomainsInPodTopologySpread) {
          p.topologySpreadConstraints[i].minDomains = 1
        }
        if !isEnabled(.matchLabelKeysInPodTopologySpread) {
          p.topologySpreadConstraints[i].matchLabelKeys = []
        }
        if !isEnabled(.nodeInclusionPolicyInPodTopologySpread) {
          p.topologySpreadConstraints[i].nodeAffinityPolicy = .honor
          p.topologySpreadConstraints[i].nodeTaintsPolicy = .ignore
        }
      }
      if !isEnabled(.matchLabelKeysInPodAffinity) {
        for rules in [\PodSpec.podAffinity, \PodSpec.podAntiAffinity] {
          for i in p[keyPath: rules].required.indices {
            p[keyPath: rules].required[i].matchLabelKeys = []
            p[keyPath: rules].required[i].mismatchLabelKeys = []
          }
          for i in p[keyPath: rules].preferred.indices {
            p[keyPath: rules].preferred[i].term.matchLabelKeys = []
            p[keyPath: rules].preferred[i].term.mismatchLabelKeys = []
          }
        }
      }
      if !isEnabled(.podSchedulingReadiness) { p.schedulingGates = [] }
      return p
    }
  }
}
