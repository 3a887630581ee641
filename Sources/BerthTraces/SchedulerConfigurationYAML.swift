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
      guard let plugin = PluginRegistry.known(name)?.descriptor else {
        throw nameNode.error("unknown plugin \"\(name)\"")
      }
      guard let type = plugin.arguments else {
        throw nameNode.error("Berth does not support arguments for \(name) yet")
      }
      let args = try entry.child("args").map { a throws(InputError) in try type.read(a) }
      pc.pluginConfig.append(PluginConfig(args ?? type.init()))
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
}

extension YAMLValue: ArgumentsReader {
  package func nodeAffinity() throws(InputError) -> NodeAffinity {
    try KubernetesYAML.nodeAffinity(self)
  }
}
