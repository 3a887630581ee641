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
  public var pluginConfig: [PluginConfig] = []
  public init(
    schedulerName: String = "default-scheduler", percentageOfNodesToScore: Int32? = nil,
    plugins: [ExtensionPoint: PluginSet] = [:], pluginConfig: [PluginConfig] = []
  ) {
    self.schedulerName = schedulerName
    self.percentageOfNodesToScore = percentageOfNodesToScore
    self.plugins = plugins
    self.pluginConfig = pluginConfig
  }
}

public struct ResourceWeight: Sendable, Equatable {
  public var name: String
  public var weight: Int64
  public init(name: String, weight: Int64) {
    self.name = name
    self.weight = weight
  }

  /// A `resources` list of plugin arguments (a missing weight is 1).
  static func readList<Reader: ArgumentsReader>(_ v: Reader) throws(Reader.Failure) -> [Self] {
    try v.sequence().map { r throws(Reader.Failure) in
      try r.requireKeys(in: ["name", "weight"])
      guard let n = r.child("name") else { throw r.error("resource needs a name") }
      return ResourceWeight(name: try n.string(), weight: try r.child("weight")?.int64() ?? 1)
    }
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
