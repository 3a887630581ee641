import BerthCore
import BerthScheduling
import Foundation
import Yams

/// Decodes `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`) strictly: an unknown
/// field, extension point, plugin or argument is an error naming the file, line and field.
public enum SchedulerConfigurationYAML {
  public static let apiVersion = "kubescheduler.config.k8s.io/v1"

  static let topLevelKeys: Set<String> = [
    "apiVersion", "kind", "parallelism", "leaderElection", "clientConnection", "healthzBindAddress",
    "metricsBindAddress", "debuggingConfiguration", "percentageOfNodesToScore",
    "podInitialBackoffSeconds",
    "podMaxBackoffSeconds", "profiles", "extenders", "delayCacheUntilActive",
  ]

  public static func read(path: String) throws(InputError) -> SchedulerConfiguration {
    try parse(try InputFile.text(path), file: path)
  }

  public static func parse(_ text: String, file: String) throws(InputError)
    -> SchedulerConfiguration
  {
    let v = try YAMLValue.document(text, file: file, empty: "configuration")
    try v.requireKeys(in: topLevelKeys)
    guard let api = v.child("apiVersion"), try api.string() == apiVersion else {
      throw (v.child("apiVersion") ?? v).error("apiVersion must be \(apiVersion)")
    }
    guard let kind = v.child("kind"), try kind.string() == "KubeSchedulerConfiguration" else {
      throw (v.child("kind") ?? v).error("kind must be KubeSchedulerConfiguration")
    }
    if let ext = v.child("extenders"), !(try ext.sequence()).isEmpty {
      throw ext.error("extenders are not supported")
    }
    var config = SchedulerConfiguration()
    config.percentageOfNodesToScore = try v.child("percentageOfNodesToScore")?.int32()
    if let profiles = v.child("profiles") {
      config.profiles = try profiles.sequence().map { p throws(InputError) in try profile(p) }
      // `profiles: []` defaults to one default profile, as upstream's defaulting does.
      if config.profiles.isEmpty { config.profiles = [ProfileConfiguration()] }
    }
    do {
      _ = try Profile.resolve(config)
    } catch {
      // Name the line of the field the rule is about (or of its nearest written parent).
      throw InputError(
        file: file, line: v.descendant(at: error.field).line, field: error.field, error.message)
    }
    return config
  }

  static func profile(_ v: YAMLValue) throws(InputError) -> ProfileConfiguration {
    try v.requireKeys(in: ["schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig"])
    var pc = ProfileConfiguration()
    if let n = v.child("schedulerName") { pc.schedulerName = try n.string() }
    pc.percentageOfNodesToScore = try v.child("percentageOfNodesToScore")?.int32()
    if let plugins = v.child("plugins") {
      for (key, set) in try plugins.mapping() {
        guard let point = ExtensionPoint(rawValue: key) else {
          throw set.error(
            "unknown extension point (expected one of \(ExtensionPoint.allCases.map(\.rawValue).joined(separator: ", ")))"
          )
        }
        try set.requireKeys(in: ["enabled", "disabled"])
        pc.plugins[point] = PluginSet(
          enabled: try references(set.child("enabled")),
          disabled: try references(set.child("disabled")))
      }
    }
    for entry in try v.child("pluginConfig")?.sequence() ?? [] {
      try entry.requireKeys(in: ["name", "args"])
      guard let nameNode = entry.child("name") else {
        throw entry.error("pluginConfig entry needs a name")
      }
      let name = try nameNode.string()
      guard let plugin = PluginName(rawValue: name) else {
        throw nameNode.error("unknown plugin \"\(name)\"")
      }
      let args = entry.child("args")
      switch plugin {
      case .nodeResourcesFit: pc.pluginConfig.append(.nodeResourcesFit(try fitArguments(args)))
      case .nodeResourcesBalancedAllocation:
        pc.pluginConfig.append(.nodeResourcesBalancedAllocation(try balancedArguments(args)))
      case .nodeAffinity:
        try args?.requireKeys(in: ["apiVersion", "kind", "addedAffinity"])
        pc.pluginConfig.append(
          .nodeAffinity(
            NodeAffinityArguments(
              addedAffinity: try args?.child("addedAffinity").map { a throws(InputError) in
                try KubernetesYAML.nodeAffinity(a)
              })))
      case .interPodAffinity:
        try args?.requireKeys(in: [
          "apiVersion", "kind", "hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods",
        ])
        var a = InterPodAffinityArguments()
        if let w = args?.child("hardPodAffinityWeight") { a.hardPodAffinityWeight = try w.int32() }
        if let i = args?.child("ignorePreferredTermsOfExistingPods") {
          a.ignorePreferredTermsOfExistingPods = try i.bool()
        }
        pc.pluginConfig.append(.interPodAffinity(a))
      default:
        throw nameNode.error("Berth does not support arguments for \(name) yet")
      }
    }
    return pc
  }

  static func references(_ v: YAMLValue?) throws(InputError) -> [PluginReference] {
    try (v?.sequence() ?? []).map { r throws(InputError) in
      try r.requireKeys(in: ["name", "weight"])
      guard let n = r.child("name") else { throw r.error("plugin entry needs a name") }
      return PluginReference(name: try n.string(), weight: try r.child("weight")?.int32())
    }
  }

  static func resourceWeights(_ v: YAMLValue) throws(InputError) -> [ResourceWeight] {
    try v.sequence().map { r throws(InputError) in
      try r.requireKeys(in: ["name", "weight"])
      guard let n = r.child("name") else { throw r.error("resource needs a name") }
      return ResourceWeight(name: try n.string(), weight: try r.child("weight")?.int64() ?? 1)
    }
  }

  static func fitArguments(_ v: YAMLValue?) throws(InputError) -> NodeResourcesFitArguments {
    var a = NodeResourcesFitArguments()
    guard let v else { return a }
    try v.requireKeys(in: [
      "apiVersion", "kind", "ignoredResources", "ignoredResourceGroups", "scoringStrategy",
    ])
    a.ignoredResources = try v.child("ignoredResources")?.stringList() ?? []
    a.ignoredResourceGroups = try v.child("ignoredResourceGroups")?.stringList() ?? []
    if let s = v.child("scoringStrategy") {
      try s.requireKeys(in: ["type", "resources", "requestedToCapacityRatio"])
      if let t = s.child("type") {
        guard let type = ScoringStrategyType(rawValue: try t.string()) else {
          throw t.error("expected LeastAllocated, MostAllocated or RequestedToCapacityRatio")
        }
        a.strategy = type
      }
      if let r = s.child("resources") { a.resources = try resourceWeights(r) }
      if let ratio = s.child("requestedToCapacityRatio") {
        try ratio.requireKeys(in: ["shape"])
        a.shape = try (ratio.child("shape")?.sequence() ?? []).map { p throws(InputError) in
          try p.requireKeys(in: ["utilization", "score"])
          return UtilizationShapePoint(
            utilization: try p.child("utilization")?.int64() ?? 0,
            score: try p.child("score")?.int64() ?? 0)
        }
      }
    }
    return a
  }

  static func balancedArguments(_ v: YAMLValue?) throws(InputError) -> BalancedAllocationArguments {
    var a = BalancedAllocationArguments()
    guard let v else { return a }
    try v.requireKeys(in: ["apiVersion", "kind", "resources"])
    if let r = v.child("resources") { a.resources = try resourceWeights(r) }
    return a
  }
}
