import BerthCore

/// Every plugin Berth knows: one line per plugin, each line its file's `descriptor`.
public enum PluginRegistry {
  public static let all: [PluginDescriptor] =
    [
      SchedulingQueue.schedulingGates,
      SchedulingQueue.prioritySort,
      NodeUnschedulablePlugin.descriptor,
      NodeNamePlugin.descriptor,
      TaintTolerationPlugin.descriptor,
      NodeAffinityPlugin.descriptor,
      NodePortsPlugin.descriptor,
      NodeResourcesFitPlugin.descriptor,
      PodTopologySpreadPlugin.descriptor,
      InterPodAffinityPlugin.descriptor,
      DefaultPreemption.descriptor,
      BalancedAllocationPlugin.descriptor,
      ImageLocalityPlugin.descriptor,
      Scheduler.defaultBinder,
      GPUSharePlugin.descriptor,
      RandomScorePlugin.descriptor,
      FirstFitScorePlugin.descriptor,
      GPUNodeScorePlugin.dotProduct,
      GPUNodeScorePlugin.bestFit,
      GPUNodeScorePlugin.gpuPacking,
      GpuClusteringScorePlugin.descriptor,
      GPUNodeScorePlugin.leastAllocated,
      GPUNodeScorePlugin.mostAllocated,
      FGDScorePlugin.descriptor,
    ] + VolumePlugin.descriptors

  private static let byName: [PluginName: PluginDescriptor] = {
    var d: [PluginName: PluginDescriptor] = [:]
    for p in all {
      precondition(d[p.name] == nil, "plugin \(p.name) registered twice")
      d[p.name] = p
    }
    return d
  }()

  /// The registered plugin named `name`.
  public static func descriptor(_ name: PluginName) -> PluginDescriptor? { byName[name] }

  /// The plugin a configuration names, if Berth knows it.
  public static func known(_ rawName: String) -> PluginName? {
    byName[PluginName(rawName)]?.name
  }

  /// The plugin's one instance for a scheduler (nil for plugins the framework implements).
  static func make(_ name: PluginName, _ context: PluginContext) -> (any SchedulingPlugin)? {
    byName[name]?.make?(context)
  }

  /// The plugins that declare a filter or score extension point without an implementation
  /// (empty when every declared point is covered), and instances whose name is not their
  /// descriptor's.
  public static func coversDeclaredExtensionPoints() -> [String] {
    var missing: [String] = []
    for d in all {
      let instance = d.make?(PluginContext(profile: .default, seed: 0))
      if d.extensionPoints.contains(.filter) && !(instance is any FilterPlugin) {
        missing.append("\(d.name) filter")
      }
      if d.extensionPoints.contains(.score) && !(instance is any ScorePlugin) {
        missing.append("\(d.name) score")
      }
      if let instance, instance.name != d.name {
        missing.append("\(d.name) named \(instance.name)")
      }
    }
    return missing
  }
}
