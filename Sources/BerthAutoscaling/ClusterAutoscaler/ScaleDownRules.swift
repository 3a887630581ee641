import BerthCore

/// A pod on a node the Cluster Autoscaler considers removing, as the drainability rules see it.
public struct DrainPod: Sendable {
  public var namespace: String
  /// The controller's kind (`ReplicaSet`, `Job`, `StatefulSet`, `DaemonSet`, ...); empty for a
  /// pod no controller owns.
  public var controllerKind: String
  public var facts: DrainFacts
  /// Deleted more than 30 s past its deletion timestamp (upstream's
  /// `PodLongTerminatingExtraThreshold`).
  public var longTerminating = false
  /// Younger than `--blocking-system-pod-distruption-timeout`.
  public var youngerThanSystemPodTimeout = true
  /// Some PodDisruptionBudget in its namespace selects it.
  public var hasPDB = false
  /// Every budget that selects it allows one more disruption (counting the pods already
  /// planned away this loop).
  public var pdbAllows = true

  public init(namespace: String, controllerKind: String, facts: DrainFacts) {
    self.namespace = namespace
    self.controllerKind = controllerKind
    self.facts = facts
  }

  public var isDaemonSetPod: Bool { controllerKind == "DaemonSet" }
}

/// Why a node cannot be drained, with upstream's `drain.BlockingPodReason` names.
public enum DrainBlock: String, Sendable, CaseIterable {
  case notReplicated = "NotReplicated"
  case unmovableKubeSystemPod = "UnmovableKubeSystemPod"
  case notSafeToEvictAnnotation = "NotSafeToEvictAnnotation"
  case localStorageRequested = "LocalStorageRequested"
  case notEnoughPdb = "NotEnoughPdb"
}

/// What the rules decide for one pod.
public enum DrainOutcome: Sendable, Equatable {
  /// Goes with the node: must find a place elsewhere first.
  case reschedule
  /// A DaemonSet pod: not rescheduled (its controller owns it).
  case daemonSet
  /// Not counted (a mirror pod, a long-terminating one).
  case skip
  case blocked(DrainBlock)
}

/// The Cluster Autoscaler's default drainability rules in their order
/// (`simulator/drainability/rules/rules.go`); the first with a definite answer decides.
public struct DrainabilityRules: Sendable {
  public var skipNodesWithSystemPods = true
  public var skipNodesWithLocalStorage = true
  public var skipNodesWithCustomControllerPods = true

  public init(flags: ClusterAutoscalerFlags) {
    skipNodesWithSystemPods = flags.skipNodesWithSystemPods
    skipNodesWithLocalStorage = flags.skipNodesWithLocalStorage
    skipNodesWithCustomControllerPods = flags.skipNodesWithCustomControllerPods
  }

  /// The kinds upstream counts as replicated (`rules/replicated`).
  static let replicatedKinds: Set<String> = [
    "ReplicationController", "Job", "ReplicaSet", "StatefulSet",
  ]

  public func outcome(_ pod: DrainPod) -> DrainOutcome {
    // mirror, long-terminating
    if pod.facts.mirror || pod.longTerminating { return .skip }
    // Interrupting: DaemonSet pods and safe-to-evict pods are drainable, whatever follows.
    if pod.isDaemonSetPod { return .daemonSet }
    if pod.facts.safeToEvict == true { return .reschedule }
    // Blocking checks.
    var replicated = !pod.controllerKind.isEmpty
    if skipNodesWithCustomControllerPods {
      replicated = replicated && Self.replicatedKinds.contains(pod.controllerKind)
    }
    if !replicated { return .blocked(.notReplicated) }
    if skipNodesWithSystemPods && pod.namespace == "kube-system" && !pod.hasPDB
      && pod.youngerThanSystemPodTimeout
    {
      return .blocked(.unmovableKubeSystemPod)
    }
    if pod.facts.safeToEvict == false { return .blocked(.notSafeToEvictAnnotation) }
    if skipNodesWithLocalStorage,
      pod.facts.localVolumes.contains(where: { !pod.facts.safeToEvictLocalVolumes.contains($0) })
    {
      return .blocked(.localStorageRequested)
    }
    if pod.hasPDB && !pod.pdbAllows { return .blocked(.notEnoughPdb) }
    return .reschedule
  }
}

/// A node's utilisation as scale-down sees it (`simulator/utilization/info.go`): per resource,
/// the pods' requests over allocatable; the node's is the larger of CPU and memory.
public struct NodeUtilization: Sendable, Equatable {
  public var cpu: Double
  public var memory: Double
  public var value: Double { max(cpu, memory) }

  /// - Parameters:
  ///   - pods: each pod's requests and whether it is a DaemonSet pod; long-terminating pods
  ///     are left out by the caller.
  ///   - ignoreDaemonSets: `--ignore-daemonsets-utilization`: DaemonSet pods' requests leave
  ///     both the sum and the allocatable.
  public static func of(
    allocatableCPU: Int64, allocatableMemory: Int64,
    pods: [(cpu: Int64, memory: Int64, daemonSet: Bool)], ignoreDaemonSets: Bool
  ) -> NodeUtilization {
    var cpu: Int64 = 0
    var memory: Int64 = 0
    var dsCPU: Int64 = 0
    var dsMemory: Int64 = 0
    for p in pods {
      if ignoreDaemonSets && p.daemonSet {
        dsCPU += p.cpu
        dsMemory += p.memory
      } else {
        cpu += p.cpu
        memory += p.memory
      }
    }
    return of(
      allocatableCPU: allocatableCPU - dsCPU, allocatableMemory: allocatableMemory - dsMemory,
      requestedCPU: cpu, requestedMemory: memory)
  }

  /// The utilization of a node whose counted pods request `requestedCPU` and `requestedMemory`
  /// in all (a resource with nothing allocatable counts 0).
  public static func of(
    allocatableCPU: Int64, allocatableMemory: Int64, requestedCPU: Int64, requestedMemory: Int64
  ) -> NodeUtilization {
    func ratio(_ used: Int64, _ of: Int64) -> Double {
      of <= 0 ? 0 : Double(used) / Double(of)
    }
    return NodeUtilization(
      cpu: ratio(requestedCPU, allocatableCPU), memory: ratio(requestedMemory, allocatableMemory))
  }
}

/// A node group's scale-up back-off (`utils/backoff/exponential_backoff.go`): the first failure
/// backs the group off for the initial duration; a failure after the back-off ran out doubles
/// it (to the maximum), one during it keeps it (concurrent failures do not compound); a record
/// whose last failure is older than the reset timeout is forgotten.
public struct GroupBackoff: Sendable, Equatable {
  public var until = VirtualTime.zero
  public var duration = VirtualTime.zero
  public var lastFailure: VirtualTime?

  public init() {}

  public mutating func failed(at now: VirtualTime, flags: ClusterAutoscalerFlags) {
    if let last = lastFailure, now <= last + flags.nodeGroupBackoffReset {
      if until < now { duration = min(duration + duration, flags.maxNodeGroupBackoff) }
    } else {
      duration = flags.initialNodeGroupBackoff
    }
    lastFailure = now
    until = now + duration
  }

  public func isBackedOff(at now: VirtualTime) -> Bool { now < until }
}
