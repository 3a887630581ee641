import BerthCore

/// Builds plugin instances from a resolved profile: one line per plugin.
public enum PluginRegistry {
  /// The filter implementation of `name`, or nil if it has none.
  static func makeFilter(_ name: PluginName, profile: Profile) -> (any FilterPlugin)? {
    switch name {
    case .nodeUnschedulable: return NodeUnschedulablePlugin()
    case .nodeName: return NodeNamePlugin()
    case .taintToleration: return TaintTolerationPlugin()
    case .nodeAffinity: return NodeAffinityPlugin(arguments: profile.nodeAffinityArguments)
    case .nodePorts: return NodePortsPlugin()
    case .nodeResourcesFit: return NodeResourcesFitPlugin(arguments: profile.fitArguments)
    case .podTopologySpread: return PodTopologySpreadPlugin()
    case .interPodAffinity:
      return InterPodAffinityPlugin(arguments: profile.interPodAffinityArguments)
    case .volumeRestrictions, .ebsLimits, .gcePDLimits, .nodeVolumeLimits, .azureDiskLimits,
      .volumeBinding,
      .volumeZone:
      return VolumePlugin(name)
    case .schedulingGates, .prioritySort, .defaultPreemption, .nodeResourcesBalancedAllocation,
      .imageLocality,
      .defaultBinder:
      return nil
    }
  }

  /// The score implementation of `name`, or nil if it has none.
  static func makeScore(_ name: PluginName, profile: Profile) -> (any ScorePlugin)? {
    switch name {
    case .taintToleration: return TaintTolerationPlugin()
    case .nodeAffinity: return NodeAffinityPlugin(arguments: profile.nodeAffinityArguments)
    case .nodeResourcesFit: return NodeResourcesFitPlugin(arguments: profile.fitArguments)
    case .podTopologySpread: return PodTopologySpreadPlugin()
    case .interPodAffinity:
      return InterPodAffinityPlugin(arguments: profile.interPodAffinityArguments)
    case .volumeBinding: return VolumePlugin(name)
    case .nodeResourcesBalancedAllocation:
      return BalancedAllocationPlugin(arguments: profile.balancedAllocationArguments)
    case .imageLocality: return ImageLocalityPlugin()
    default: return nil
    }
  }

  /// The plugins that declare a filter or score extension point without an implementation
  /// (empty when every declared point is covered).
  public static func coversDeclaredExtensionPoints() -> [String] {
    var missing: [String] = []
    for p in PluginName.allCases {
      if p.extensionPoints.contains(.filter) && makeFilter(p, profile: .default) == nil {
        missing.append("\(p.rawValue) filter")
      }
      if p.extensionPoints.contains(.score) && makeScore(p, profile: .default) == nil {
        missing.append("\(p.rawValue) score")
      }
    }
    return missing
  }
}
