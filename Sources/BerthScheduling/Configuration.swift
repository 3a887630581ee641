import BerthCore

/// `kubescheduler.config.k8s.io/v1` `KubeSchedulerConfiguration`, the parts Berth acts on.
///
/// Decoding from YAML lives in BerthTraces; this is the typed, validated form. `resolve()` turns
/// a profile into the ordered filter and weighted score lists a `Scheduler` runs, applying the
/// upstream defaulting rules (default plugins through `multiPoint`, `disabled: ["*"]`, explicit
/// re-configuration overriding a default in place).
public struct SchedulerConfiguration: Sendable, Equatable {
  public var percentageOfNodesToScore: Int32?
  public var profiles: [ProfileConfiguration]

  public init(
    percentageOfNodesToScore: Int32? = nil,
    profiles: [ProfileConfiguration] = [ProfileConfiguration()]
  ) {
    self.percentageOfNodesToScore = percentageOfNodesToScore
    self.profiles = profiles.isEmpty ? [ProfileConfiguration()] : profiles
  }
}

public struct PluginReference: Sendable, Equatable {
  /// A plugin name, or `*` in a `disabled` list.
  public var name: String
  public var weight: Int32?
  public init(name: String, weight: Int32? = nil) {
    self.name = name
    self.weight = weight
  }
}

public struct PluginSet: Sendable, Equatable {
  public var enabled: [PluginReference] = []
  public var disabled: [PluginReference] = []
  public init(enabled: [PluginReference] = [], disabled: [PluginReference] = []) {
    self.enabled = enabled
    self.disabled = disabled
  }
}

public struct ProfileConfiguration: Sendable, Equatable {
  public var schedulerName: String = "default-scheduler"
  public var percentageOfNodesToScore: Int32?
  /// Per extension point (including `.multiPoint`), the user's plugin sets.
  public var plugins: [ExtensionPoint: PluginSet] = [:]
  public var pluginConfig: [PluginArguments] = []
  public init(
    schedulerName: String = "default-scheduler", percentageOfNodesToScore: Int32? = nil,
    plugins: [ExtensionPoint: PluginSet] = [:], pluginConfig: [PluginArguments] = []
  ) {
    self.schedulerName = schedulerName
    self.percentageOfNodesToScore = percentageOfNodesToScore
    self.plugins = plugins
    self.pluginConfig = pluginConfig
  }
}

/// `pluginConfig[].args` for the plugins that take arguments.
public enum PluginArguments: Sendable, Equatable {
  case nodeResourcesFit(NodeResourcesFitArguments)
  case nodeResourcesBalancedAllocation(BalancedAllocationArguments)
  case nodeAffinity(NodeAffinityArguments)
  case interPodAffinity(InterPodAffinityArguments)

  public var pluginName: PluginName {
    switch self {
    case .nodeResourcesFit: return .nodeResourcesFit
    case .nodeResourcesBalancedAllocation: return .nodeResourcesBalancedAllocation
    case .nodeAffinity: return .nodeAffinity
    case .interPodAffinity: return .interPodAffinity
    }
  }
}

public struct ResourceWeight: Sendable, Equatable {
  public var name: String
  public var weight: Int64
  public init(name: String, weight: Int64) {
    self.name = name
    self.weight = weight
  }
}

public struct UtilizationShapePoint: Sendable, Equatable {
  /// 0…100.
  public var utilization: Int64
  /// 0…10 as configured; scaled ×10 when scoring.
  public var score: Int64
  public init(utilization: Int64, score: Int64) {
    self.utilization = utilization
    self.score = score
  }
}

public enum ScoringStrategyType: String, Sendable, Equatable, CaseIterable {
  case leastAllocated = "LeastAllocated"
  case mostAllocated = "MostAllocated"
  case requestedToCapacityRatio = "RequestedToCapacityRatio"
}

public struct NodeResourcesFitArguments: Sendable, Equatable {
  public var ignoredResources: [String] = []
  public var ignoredResourceGroups: [String] = []
  public var strategy: ScoringStrategyType = .leastAllocated
  public var resources: [ResourceWeight] = [
    .init(name: "cpu", weight: 1), .init(name: "memory", weight: 1),
  ]
  public var shape: [UtilizationShapePoint] = []
  public init() {}
}

public struct BalancedAllocationArguments: Sendable, Equatable {
  public var resources: [ResourceWeight] = [
    .init(name: "cpu", weight: 1), .init(name: "memory", weight: 1),
  ]
  public init() {}
}

/// `InterPodAffinityArgs`.
public struct InterPodAffinityArguments: Sendable, Equatable {
  /// Score an existing pod's required affinity term that matches the incoming pod adds; 0…100,
  /// 0 turns that rule off.
  public var hardPodAffinityWeight: Int32
  /// Skip existing pods' terms when the incoming pod has no preferred terms of its own.
  public var ignorePreferredTermsOfExistingPods: Bool
  public init(hardPodAffinityWeight: Int32 = 1, ignorePreferredTermsOfExistingPods: Bool = false) {
    self.hardPodAffinityWeight = hardPodAffinityWeight
    self.ignorePreferredTermsOfExistingPods = ignorePreferredTermsOfExistingPods
  }

  func validate(path: String) throws(ConfigurationError) {
    guard (0...100).contains(hardPodAffinityWeight) else {
      throw ConfigurationError(field: path + ".hardPodAffinityWeight", "not in valid range [0-100]")
    }
  }
}

public struct NodeAffinityArguments: Sendable, Equatable {
  public var addedAffinity: NodeAffinity?
  public init(addedAffinity: NodeAffinity? = nil) { self.addedAffinity = addedAffinity }
}

/// A configuration that cannot be run, with the field path that is wrong.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
  public var field: String
  public var message: String
  public init(field: String, _ message: String) {
    self.field = field
    self.message = message
  }
  public var description: String { "\(field): \(message)" }
}

extension NodeResourcesFitArguments {
  /// `ValidateNodeResourcesFitArgs`: weights in 1…100, a shape for RequestedToCapacityRatio with
  /// utilisation 0…100 strictly increasing and scores 0…10.
  public func validate(path: String) throws(ConfigurationError) {
    if resources.isEmpty {
      throw ConfigurationError(
        field: "\(path).scoringStrategy.resources", "must list at least one resource")
    }
    var seen = Set<String>()
    for (i, r) in resources.enumerated() {
      guard r.weight >= 1 && r.weight <= 100 else {
        throw ConfigurationError(
          field: "\(path).scoringStrategy.resources[\(i)].weight", "\(r.weight) is not in [1, 100]")
      }
      guard seen.insert(r.name).inserted else {
        throw ConfigurationError(
          field: "\(path).scoringStrategy.resources[\(i)].name", "duplicate resource \"\(r.name)\"")
      }
    }
    if strategy == .requestedToCapacityRatio {
      let p = "\(path).scoringStrategy.requestedToCapacityRatio.shape"
      guard !shape.isEmpty else {
        throw ConfigurationError(field: p, "at least one point is required")
      }
      for (i, point) in shape.enumerated() {
        guard (0...100).contains(point.utilization) else {
          throw ConfigurationError(
            field: "\(p)[\(i)].utilization", "\(point.utilization) is not in [0, 100]")
        }
        guard (0...10).contains(point.score) else {
          throw ConfigurationError(field: "\(p)[\(i)].score", "\(point.score) is not in [0, 10]")
        }
        if i > 0 && point.utilization <= shape[i - 1].utilization {
          throw ConfigurationError(
            field: "\(p)[\(i)].utilization", "utilization values must be sorted in increasing order"
          )
        }
      }
    } else if !shape.isEmpty {
      throw ConfigurationError(
        field: "\(path).scoringStrategy.requestedToCapacityRatio",
        "only allowed with type RequestedToCapacityRatio")
    }
  }
}

extension BalancedAllocationArguments {
  /// `ValidateNodeResourcesBalancedAllocationArgs`: every weight must be 1, no duplicates.
  public func validate(path: String) throws(ConfigurationError) {
    var seen = Set<String>()
    for (i, r) in resources.enumerated() {
      guard r.weight == 1 else {
        throw ConfigurationError(field: "\(path).resources[\(i)].weight", "\(r.weight) must be 1")
      }
      guard seen.insert(r.name).inserted else {
        throw ConfigurationError(
          field: "\(path).resources[\(i)].name", "duplicate resource \"\(r.name)\"")
      }
    }
  }
}
