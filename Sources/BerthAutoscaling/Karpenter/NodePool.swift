import BerthCore

/// A Karpenter NodePool (`karpenter.sh/v1`): what nodes it may launch, their labels and taints,
/// its limits, weight and disruption settings.
public struct NodePoolSpec: Sendable, Equatable {
  public enum ConsolidationPolicy: String, Sendable {
    case whenEmpty = "WhenEmpty"
    case whenEmptyOrUnderutilized = "WhenEmptyOrUnderutilized"
  }
  /// A disruption budget's `nodes`: a count or a percentage of the pool's nodes.
  public enum Budget: Sendable, Equatable {
    case count(Int)
    case percent(Int)
  }

  public var name: String
  public var weight: Int = 0
  public var labels: [String: String] = [:]
  public var taints: [Taint] = []
  /// `spec.template.spec.requirements`: node selector requirements over the offering's labels.
  public var requirements: [NodeSelectorRequirement] = []
  /// `spec.limits`: CPU (millicores) and memory (bytes) of all the pool's nodes; nil: none.
  public var cpuLimitMillis: Int64?
  public var memoryLimitBytes: Int64?
  public var consolidationPolicy = ConsolidationPolicy.whenEmptyOrUnderutilized
  public var consolidateAfter = VirtualTime.zero
  /// False for `consolidateAfter: Never`: the pool's nodes are never consolidated.
  public var consolidates = true
  public var budgets: [Budget] = [.percent(10)]
  /// `spec.template.spec.expireAfter` (720h by default; nil: Never).
  public var expireAfter: VirtualTime? = VirtualTime.seconds(Int64(720 * 3600))

  public init(name: String) { self.name = name }

  public static let label = "karpenter.sh/nodepool"
  public static let capacityTypeLabel = "karpenter.sh/capacity-type"
  public static let instanceTypeLabel = "node.kubernetes.io/instance-type"
  public static let zoneLabel = "topology.kubernetes.io/zone"
  public static let archLabel = "kubernetes.io/arch"
  public static let familyLabel = "karpenter.k8s.aws/instance-family"
  public static let gpuCountLabel = "karpenter.k8s.aws/instance-gpu-count"
  public static let cpuLabel = "karpenter.k8s.aws/instance-cpu"

  /// Disruptions allowed now over `nodes` nodes of the pool, `disrupting` of them being
  /// disrupted or not Ready (the minimum over the budgets; a percentage rounds up).
  public func allowedDisruptions(nodes: Int, disrupting: Int) -> Int {
    let each = budgets.map { b -> Int in
      switch b {
      case .count(let n): return n
      case .percent(let p): return (nodes * p + 99) / 100
      }
    }
    return max(0, (each.min() ?? 0) - disrupting)
  }
}

/// One way to launch a node: an instance type, a capacity type and a zone, at a price, with
/// the labels the node will carry.
public struct Offering: Sendable, Equatable {
  public var type: InstanceType
  public var capacityType: String
  public var zone: String
  public var price: Double
  public var labels: [String: String]

  /// The offerings of `catalogue` a pool may launch: its requirements over each type's
  /// labels (capacity type on-demand only unless the pool allows spot, as Karpenter defaults).
  public static func of(pool: NodePoolSpec, catalogue: [InstanceType]) -> [Offering] {
    var out: [Offering] = []
    let capacityTypes =
      pool.requirements.contains { $0.key == NodePoolSpec.capacityTypeLabel }
      ? ["on-demand", "spot"] : ["on-demand"]
    for t in catalogue {
      for c in capacityTypes {
        guard let price = t.price(capacityType: c) else { continue }
        for z in t.zones {
          var labels = pool.labels
          labels[NodePoolSpec.label] = pool.name
          labels[NodePoolSpec.instanceTypeLabel] = t.name
          labels[NodePoolSpec.capacityTypeLabel] = c
          labels[NodePoolSpec.zoneLabel] = z
          labels[NodePoolSpec.archLabel] = t.arch
          labels[NodePoolSpec.familyLabel] = t.family
          labels[NodePoolSpec.cpuLabel] = String(t.cpuMillis / 1000)
          labels[NodePoolSpec.gpuCountLabel] = String(t.gpus)
          labels["kubernetes.io/os"] = "linux"
          guard pool.requirements.allSatisfy({ $0.matches(labelValue: labels[$0.key]) }) else {
            continue
          }
          out.append(Offering(type: t, capacityType: c, zone: z, price: price, labels: labels))
        }
      }
    }
    return out
  }

  /// The offering launched for pods needing `cpu`/`memory`/`pods` among `options`: the
  /// cheapest that fits (ties: the first in `options`, i.e. catalogue order, then zone), as
  /// the lowest-price and price-capacity-optimised allocation strategies pick when every
  /// offering's price is known — spot before on-demand whenever the pool allows both.
  public static func cheapest(
    _ options: [Offering], cpu: Int64, memory: Int64, pods: Int64, gpus: Int64 = 0
  ) -> Offering? {
    var best: Offering?
    for o in options {
      let a = o.type.allocatable
      guard a.cpuMillis >= cpu, a.memoryBytes >= memory, a.pods >= pods, o.type.gpus >= gpus
      else { continue }
      if best == nil || o.price < best!.price { best = o }
    }
    return best
  }
}
