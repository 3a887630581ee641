/// Every plugin Berth knows, by its upstream name. The only place a plugin's name is spelled.
public enum PluginName: String, CaseIterable, Sendable, Comparable {
  case schedulingGates = "SchedulingGates"
  case prioritySort = "PrioritySort"
  case nodeUnschedulable = "NodeUnschedulable"
  case nodeName = "NodeName"
  case taintToleration = "TaintToleration"
  case nodeAffinity = "NodeAffinity"
  case nodePorts = "NodePorts"
  case nodeResourcesFit = "NodeResourcesFit"
  case volumeRestrictions = "VolumeRestrictions"
  case ebsLimits = "EBSLimits"
  case gcePDLimits = "GCEPDLimits"
  case nodeVolumeLimits = "NodeVolumeLimits"
  case azureDiskLimits = "AzureDiskLimits"
  case volumeBinding = "VolumeBinding"
  case volumeZone = "VolumeZone"
  case podTopologySpread = "PodTopologySpread"
  case interPodAffinity = "InterPodAffinity"
  case defaultPreemption = "DefaultPreemption"
  case nodeResourcesBalancedAllocation = "NodeResourcesBalancedAllocation"
  case imageLocality = "ImageLocality"
  case defaultBinder = "DefaultBinder"

  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

  /// Extension points the upstream plugin implements (as of the oracle's v1.26).
  public var extensionPoints: Set<ExtensionPoint> {
    switch self {
    case .schedulingGates: return [.preEnqueue]
    case .prioritySort: return [.queueSort]
    case .nodeUnschedulable, .nodeName, .ebsLimits, .gcePDLimits, .azureDiskLimits: return [.filter]
    case .nodeVolumeLimits, .volumeZone, .volumeRestrictions: return [.preFilter, .filter]
    case .taintToleration: return [.filter, .preScore, .score]
    case .nodeAffinity, .podTopologySpread, .interPodAffinity:
      return [.preFilter, .filter, .preScore, .score]
    case .nodePorts: return [.preFilter, .filter]
    case .nodeResourcesFit: return [.preFilter, .filter, .preScore, .score]
    case .volumeBinding: return [.preFilter, .filter, .reserve, .preBind, .score]
    case .defaultPreemption: return [.postFilter]
    case .nodeResourcesBalancedAllocation: return [.preScore, .score]
    case .imageLocality: return [.score]
    case .defaultBinder: return [.bind]
    }
  }

}

/// The scheduling framework's extension points, by their configuration field names.
public enum ExtensionPoint: String, CaseIterable, Sendable {
  case preEnqueue, queueSort, preFilter, filter, postFilter, preScore, score, reserve, permit,
    preBind, bind, postBind, multiPoint
}
