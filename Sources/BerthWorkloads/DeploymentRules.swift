import BerthCore

/// How a Deployment replaces its pods when the template changes (`spec.strategy`).
public enum DeploymentStrategy: Hashable, Sendable {
  /// Every old pod is gone before a new one is created.
  case recreate
  /// New pods replace old ones a few at a time: at most `maxSurge` above the desired count, at
  /// most `maxUnavailable` below it.
  case rollingUpdate(maxSurge: IntOrPercent, maxUnavailable: IntOrPercent)

  /// The API's default: RollingUpdate with 25 % surge and 25 % unavailable.
  public static let `default` = rollingUpdate(maxSurge: .percent(25), maxUnavailable: .percent(25))
}

/// The deployment controller's arithmetic (`pkg/controller/deployment/util`), as pure functions
/// of counts, so each rule can be table-tested against upstream's own cases.
public enum DeploymentRules {
  /// `ResolveFenceposts`: the surge rounds up, the unavailable count down; when both come to 0
  /// one pod may be unavailable, or the rollout could never proceed.
  public static func resolveFenceposts(
    maxSurge: IntOrPercent?, maxUnavailable: IntOrPercent?, desired: Int
  ) -> (surge: Int, unavailable: Int) {
    let surge = (maxSurge ?? .int(0)).scaled(total: desired, roundUp: true)
    var unavailable = (maxUnavailable ?? .int(0)).scaled(total: desired, roundUp: false)
    if surge == 0 && unavailable == 0 { unavailable = 1 }
    return (surge, unavailable)
  }

  /// `MaxSurge`: 0 for Recreate.
  public static func maxSurge(_ strategy: DeploymentStrategy, replicas: Int) -> Int {
    guard case .rollingUpdate(let s, let u) = strategy else { return 0 }
    return resolveFenceposts(maxSurge: s, maxUnavailable: u, desired: replicas).surge
  }

  /// `MaxUnavailable`: 0 for Recreate or no replicas, and never more than the replicas.
  public static func maxUnavailable(_ strategy: DeploymentStrategy, replicas: Int) -> Int {
    guard case .rollingUpdate(let s, let u) = strategy, replicas > 0 else { return 0 }
    let unavailable = resolveFenceposts(maxSurge: s, maxUnavailable: u, desired: replicas)
      .unavailable
    return min(unavailable, replicas)
  }

  /// `NewRSNewReplicas`: how far the new ReplicaSet may grow now. RollingUpdate adds up to the
  /// surge above the desired count, counting every ReplicaSet's `spec.replicas`
  /// (`allReplicas`), and never past the desired count; Recreate goes straight to it.
  public static func newReplicaSetReplicas(
    strategy: DeploymentStrategy, replicas: Int, allReplicas: Int, newReplicas: Int
  ) -> Int {
    guard case .rollingUpdate = strategy else { return replicas }
    let maxTotal = replicas + maxSurge(strategy, replicas: replicas)
    if allReplicas >= maxTotal { return newReplicas }
    let scaleUp = min(maxTotal - allReplicas, replicas - newReplicas)
    return newReplicas + scaleUp
  }

  /// `getReplicaSetFraction`: a ReplicaSet's share of a resize during a rollout, in proportion
  /// to its size against the size the Deployment had when the ReplicaSet was last scaled
  /// (`deployment.kubernetes.io/max-replicas`, else the Deployment's `status.replicas`), rounded
  /// half away from zero.
  public static func replicaSetFraction(
    replicaSetReplicas: Int, deploymentReplicas: Int, maxSurge: Int, annotatedMaxReplicas: Int?,
    statusReplicas: Int
  ) -> Int {
    if deploymentReplicas == 0 { return -replicaSetReplicas }
    let allowed = deploymentReplicas + maxSurge
    let annotated = annotatedMaxReplicas ?? statusReplicas
    guard annotated != 0 else { return 0 }
    let size = Double(replicaSetReplicas * allowed) / Double(annotated)
    return Int(size.rounded(.toNearestOrAwayFromZero)) - replicaSetReplicas
  }

  /// `GetReplicaSetProportion`: the fraction, bounded by what is left to add (or remove).
  public static func replicaSetProportion(
    replicaSetReplicas: Int, fraction: Int, toAdd: Int, added: Int
  ) -> Int {
    if replicaSetReplicas == 0 || toAdd == 0 || toAdd == added { return 0 }
    let allowed = toAdd - added
    return toAdd > 0 ? min(fraction, allowed) : max(fraction, allowed)
  }

  /// Parses an int-or-percent field (`maxSurge: 1`, `maxSurge: "25%"`) as intstr does; nil
  /// for anything else.
  public static func intOrPercent(_ text: String) -> IntOrPercent? {
    if text.hasSuffix("%") {
      guard let p = Int(text.dropLast()) else { return nil }
      return .percent(p)
    }
    return Int(text).map(IntOrPercent.int)
  }
}
