import BerthCore
import Foundation

/// The Cluster Autoscaler's expanders (`cluster-autoscaler/expander/*`), by their flag names.
public enum ExpanderName: String, Sendable, CaseIterable {
  case random
  case mostPods = "most-pods"
  case leastWaste = "least-waste"
  case leastNodes = "least-nodes"
  case price
  case priority

  /// `--expander` as upstream reads it: names separated by commas, each at most once.
  public static func parseList(_ text: String) -> [ExpanderName]? {
    var out: [ExpanderName] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard let e = ExpanderName(rawValue: String(part)), !out.contains(e) else { return nil }
      out.append(e)
    }
    return out.isEmpty ? nil : out
  }
}

/// One way to scale up: a node group, how many nodes, and the pending pods they would take.
public struct ScaleUpOption: Sendable, Equatable {
  /// Index of the node group.
  public var group: Int
  public var groupName: String
  public var nodeCount: Int
  /// The pods the new nodes would take, and the sum of their containers' CPU and memory
  /// requests (upstream sums `spec.containers` only).
  public var podCount: Int
  public var podCPUMillis: Int64
  public var podMemoryBytes: Int64
  /// The template node's CPU and memory (upstream reads capacity; Berth's templates carry
  /// allocatable, which stands for both).
  public var nodeCPUMillis: Int64
  public var nodeMemoryBytes: Int64
  public var nodeHasGPU = false
  public var pricePerHour: Double?

  public init(
    group: Int, groupName: String, nodeCount: Int, podCount: Int, podCPUMillis: Int64,
    podMemoryBytes: Int64, nodeCPUMillis: Int64, nodeMemoryBytes: Int64
  ) {
    self.group = group
    self.groupName = groupName
    self.nodeCount = nodeCount
    self.podCount = podCount
    self.podCPUMillis = podCPUMillis
    self.podMemoryBytes = podMemoryBytes
    self.nodeCPUMillis = nodeCPUMillis
    self.nodeMemoryBytes = nodeMemoryBytes
  }
}

/// The priority expander's configuration: the `priorities` key of the ConfigMap
/// `cluster-autoscaler-priority-expander` (kube-system), priority → node-group name patterns.
public struct ExpanderPriorities: Sendable {
  public var entries: [(priority: Int, patterns: [String])]
  public init(entries: [(priority: Int, patterns: [String])]) { self.entries = entries }
  public static let configMapName = "cluster-autoscaler-priority-expander"
  public static let key = "priorities"

  /// The highest priority whose patterns match the group's name anywhere (Go's
  /// `FindStringIndex`, unanchored); nil when none does.
  public func priority(of group: String) -> Int? {
    var best: Int?
    for (p, patterns) in entries
    where patterns.contains(where: { pattern in
      guard let re = try? Regex(pattern) else { return false }
      return group.contains(re)
    }) {
      best = max(best ?? p, p)
    }
    return best
  }
}

/// Prices the price expander uses for pods: upstream asks the cloud's pricing model, which
/// prices requests per core-hour and per GiB-hour (GCE's list rates are the defaults).
public struct PodPricing: Sendable, Equatable {
  public var cpuPerCoreHour = 0.033174
  public var memoryPerGiBHour = 0.004446
  public init() {}
  public func price(cpuMillis: Int64, memoryBytes: Int64) -> Double {
    Double(cpuMillis) / 1000 * cpuPerCoreHour + Double(memoryBytes) / 1_073_741_824
      * memoryPerGiBHour
  }
}

/// The expanders as upstream's chain runs them (`expander/factory/chain.go`): each filter keeps
/// the options it likes best among those the previous one kept; `random` picks among the last
/// survivors.
public struct Expander: Sendable {
  public var chain: [ExpanderName]
  public var priorities: ExpanderPriorities?
  public var podPricing = PodPricing()

  public init(chain: [ExpanderName], priorities: ExpanderPriorities? = nil) {
    self.chain = chain
    self.priorities = priorities
  }

  /// The chosen option (nil only for no options). `nodesInCluster` sizes the price
  /// expander's preferred node.
  public func best(
    _ options: [ScaleUpOption], nodesInCluster: Int, rng: inout SplitMix64
  ) -> ScaleUpOption? {
    var survivors = options
    for e in chain where survivors.count > 1 {
      survivors = filter(e, survivors, nodesInCluster: nodesInCluster)
    }
    guard !survivors.isEmpty else { return nil }
    return survivors.count == 1
      ? survivors[0] : survivors[Int(rng.next() % UInt64(survivors.count))]
  }

  /// What one expander keeps.
  public func filter(_ e: ExpanderName, _ options: [ScaleUpOption], nodesInCluster: Int)
    -> [ScaleUpOption]
  {
    switch e {
    case .random: return options
    case .mostPods:
      let most = options.map(\.podCount).max() ?? 0
      return options.filter { $0.podCount == most }
    case .leastNodes:
      let least = options.map(\.nodeCount).min() ?? 0
      return options.filter { $0.nodeCount == least }
    case .leastWaste:
      let scores = options.map(Self.wasteScore)
      guard let least = scores.min() else { return [] }
      return zip(options, scores).filter { $0.1 == least }.map(\.0)
    case .price:
      let scores = options.map { priceScore($0, nodesInCluster: nodesInCluster) }
      guard let best = scores.compactMap({ $0 }).min() else { return [] }
      // Upstream keeps the first option with the lowest score.
      return [options[scores.firstIndex(of: best)!]]
    case .priority:
      guard let priorities else { return options }
      let ranked = options.map { priorities.priority(of: $0.groupName) }
      // Upstream starts from -1: negative priorities never win.
      guard let top = ranked.compactMap({ $0 }).filter({ $0 >= -1 }).max() else { return options }
      return zip(options, ranked).filter { $0.1 == top }.map(\.0)
    }
  }

  /// least-waste's score: the fraction of the new nodes' CPU and of their memory the pods leave
  /// unrequested, summed (`expander/waste/waste.go`).
  public static func wasteScore(_ o: ScaleUpOption) -> Double {
    let cpu = o.nodeCPUMillis * Int64(o.nodeCount)
    let memory = o.nodeMemoryBytes * Int64(o.nodeCount)
    return Double(cpu - o.podCPUMillis) / Double(cpu) + Double(memory - o.podMemoryBytes)
      / Double(memory)
  }

  /// The node the price expander prefers for a cluster of `nodes` nodes: twice the size each
  /// time the cluster grows threefold (`expander/price/preferred.go`).
  public static func preferredNode(nodesInCluster nodes: Int) -> (cpuMillis: Int64, memory: Int64) {
    let mib: Int64 = 1_048_576
    switch nodes {
    case ...2: return (1000, 3750 * mib)
    case ...6: return (2000, 7500 * mib)
    case ...20: return (4000, 15000 * mib)
    case ...60: return (8000, 30000 * mib)
    case ...200: return (16000, 60000 * mib)
    default: return (32000, 120_000 * mib)
    }
  }

  /// The price expander's score, lower is better (`expander/price/price.go`): the nodes' price
  /// over the pods' (each plus the price of a 500m / 500 MiB stabilisation pod), times the
  /// node shape's unfitness against the preferred node (CPU ratio either way), damped as the
  /// node count grows; GPU nodes get a fixed unfitness of 1000. nil for an unpriced group.
  public func priceScore(_ o: ScaleUpOption, nodesInCluster: Int) -> Double? {
    guard let nodePrice = o.pricePerHour else { return nil }
    let stabilization = podPricing.price(cpuMillis: 500, memoryBytes: 500 * 1_048_576)
    let pods = podPricing.price(cpuMillis: o.podCPUMillis, memoryBytes: o.podMemoryBytes)
    let priceSubScore =
      (nodePrice * Double(o.nodeCount) + stabilization) / (pods + stabilization)
    let preferred = Self.preferredNode(nodesInCluster: nodesInCluster)
    let ratio = Double(preferred.cpuMillis) / Double(o.nodeCPUMillis)
    let unfitness = max(ratio, 1 / ratio)
    var suppressed = (unfitness - 1) * (1 - tanh(Double(o.nodeCount - 1) / 15)) + 1
    if o.nodeHasGPU { suppressed = 1000 }
    return suppressed * priceSubScore
  }
}
