import BerthCore

/// The volume plugins (VolumeRestrictions, the *Limits family, VolumeBinding, VolumeZone).
/// Berth models no PersistentVolumeClaims: their filters pass every pod and VolumeBinding's
/// score is 0, as upstream's are for pods without claims.
final class VolumePlugin: FilterPlugin, ScorePlugin {
  let name: PluginName
  let normalization = ScoreNormalization.none
  init(_ name: PluginName) { self.name = name }
  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool { false }
  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {}
  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] { [] }
  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  { .uniform(0) }
  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {}
}
