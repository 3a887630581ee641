import BerthCore

extension PluginName {
  public static let volumeRestrictions = PluginName("VolumeRestrictions")
  public static let ebsLimits = PluginName("EBSLimits")
  public static let gcePDLimits = PluginName("GCEPDLimits")
  public static let nodeVolumeLimits = PluginName("NodeVolumeLimits")
  public static let azureDiskLimits = PluginName("AzureDiskLimits")
  public static let volumeBinding = PluginName("VolumeBinding")
  public static let volumeZone = PluginName("VolumeZone")
}

/// The volume plugins (VolumeRestrictions, the *Limits family, VolumeBinding, VolumeZone).
/// Berth models no PersistentVolumeClaims: their filters pass every pod and VolumeBinding's
/// score is 0, as upstream's are for pods without claims.
final class VolumePlugin: FilterPlugin, ScorePlugin {
  static let descriptors: [PluginDescriptor] = [
    descriptor(
      .volumeRestrictions, [.preFilter, .filter], events: ClusterEvents(assignedPodDelete: true)),
    descriptor(.ebsLimits, [.filter]),
    descriptor(.gcePDLimits, [.filter]),
    descriptor(.nodeVolumeLimits, [.preFilter, .filter]),
    descriptor(.azureDiskLimits, [.filter]),
    descriptor(.volumeBinding, [.preFilter, .filter, .reserve, .preBind, .score]),
    descriptor(.volumeZone, [.preFilter, .filter]),
  ]

  private static func descriptor(
    _ name: PluginName, _ points: Set<ExtensionPoint>, events: ClusterEvents = ClusterEvents()
  ) -> PluginDescriptor {
    PluginDescriptor(name, points, events: events) { _ in VolumePlugin(name) }
  }

  let name: PluginName
  let normalization = ScoreNormalization.none
  init(_ name: PluginName) { self.name = name }
  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool { false }
  let passesEveryPod = true
  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {}
  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] { [] }
  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  { .uniform(0) }
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { false }
  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {}
}
