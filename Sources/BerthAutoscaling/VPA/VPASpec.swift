/// A VerticalPodAutoscaler (autoscaling.k8s.io/v1) as its recommender, updater and admission
/// controller read it.
public struct VPASpec: Sendable, Equatable {
  public enum UpdateMode: String, Sendable, Equatable, CaseIterable {
    case off = "Off"
    case initial = "Initial"
    case recreate = "Recreate"
    /// Deprecated; the same as Recreate.
    case auto = "Auto"
    case inPlaceOrRecreate = "InPlaceOrRecreate"
    /// Resize in place only, never evict (upstream's `InPlace`, behind its feature gate).
    case inPlace = "InPlace"
  }
  public var namespace: String
  public var name: String
  public var targetRef: ObjectRef
  /// An unset mode is Recreate (`GetUpdateMode`).
  public var updateMode: UpdateMode = .recreate
  /// `updatePolicy.minReplicas` (the updater's `--min-replicas`, 2, when unset).
  public var minReplicas: Int32?
  public var containerPolicies: [VPAContainerPolicy] = []

  public init(namespace: String, name: String, targetRef: ObjectRef) {
    self.namespace = namespace
    self.name = name
    self.targetRef = targetRef
  }

  /// The policy for `container`: its own, else the `*` one.
  public func policy(for container: String) -> VPAContainerPolicy? {
    containerPolicies.first { $0.containerName == container }
      ?? containerPolicies.first { $0.containerName == "*" }
  }
}
