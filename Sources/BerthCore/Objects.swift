/// A node as read from a manifest or trace: the cold, readable form the tables are built from.
public struct NodeSpec: Hashable, Sendable {
  public struct Image: Hashable, Sendable {
    /// Every name the image is known by (`status.images[].names`).
    public var names: [String]
    public var sizeBytes: Int64
    public init(names: [String], sizeBytes: Int64) {
      self.names = names
      self.sizeBytes = sizeBytes
    }
  }

  public var name: String
  public var labels: [String: String]
  public var taints: [Taint]
  /// `status.allocatable`: what the scheduler may hand out (capacity less reservations).
  public var allocatable: ResourceAmounts
  public var unschedulable: Bool
  public var images: [Image]
  /// GPUs for GPU-sharing scheduling (the openb model); nil for nodes without them.
  public var gpus: NodeGPUs?

  public init(
    name: String, labels: [String: String] = [:], taints: [Taint] = [],
    allocatable: ResourceAmounts, unschedulable: Bool = false, images: [Image] = [],
    gpus: NodeGPUs? = nil
  ) {
    self.name = name
    self.labels = labels
    self.taints = taints
    self.allocatable = allocatable
    self.unschedulable = unschedulable
    self.images = images
    self.gpus = gpus
  }

  /// The node-tree zone key: `region:\0:zone` from the topology labels (empty when both are
  /// absent, which puts the node in the one unnamed zone).
  public var zoneKey: String {
    let region =
      labels["topology.kubernetes.io/region"] ?? labels["failure-domain.beta.kubernetes.io/region"]
      ?? ""
    let zone =
      labels["topology.kubernetes.io/zone"] ?? labels["failure-domain.beta.kubernetes.io/zone"]
      ?? ""
    if region.isEmpty && zone.isEmpty { return "" }
    return region + ":\u{0}:" + zone
  }
}

public enum PortProtocol: String, Hashable, Sendable {
  case tcp = "TCP"
  case udp = "UDP"
  case sctp = "SCTP"
}

public struct ContainerPort: Hashable, Sendable {
  public var containerPort: Int32
  public var hostPort: Int32
  public var hostIP: String
  public var `protocol`: PortProtocol

  public init(
    containerPort: Int32 = 0, hostPort: Int32, hostIP: String = "", protocol: PortProtocol = .tcp
  ) {
    self.containerPort = containerPort
    self.hostPort = hostPort
    self.hostIP = hostIP
    self.protocol = `protocol`
  }
}

public struct Container: Hashable, Sendable {
  public var name: String
  public var image: String
  /// Requests after API defaulting (a resource with a limit but no request requests its limit).
  public var requests: ResourceList
  public var limits: ResourceList
  public var ports: [ContainerPort]
  /// Only meaningful on init containers: `Always` makes it a sidecar.
  public var restartPolicyAlways: Bool
  /// `resizePolicy`: the resources (cpu, memory) whose in-place resize restarts the container
  /// (`RestartContainer`); the others resize without a restart (`NotRequired`, the default).
  public var restartOnResize: Set<String> = []

  public init(
    name: String = "", image: String = "", requests: ResourceList = ResourceList(),
    limits: ResourceList = ResourceList(), ports: [ContainerPort] = [],
    restartPolicyAlways: Bool = false
  ) {
    self.name = name
    self.image = image
    self.requests = requests
    self.limits = limits
    self.ports = ports
    self.restartPolicyAlways = restartPolicyAlways
  }
}

/// A pod as read from a manifest or trace.
public struct PodSpec: Hashable, Sendable {
  public var name: String
  public var namespace: String
  public var labels: [String: String]
  public var containers: [Container]
  public var initContainers: [Container]
  public var overhead: ResourceList
  public var nodeSelector: [String: String]
  public var affinity: NodeAffinity?
  public var tolerations: [Toleration]
  public var priority: Int32
  public var priorityClassName: String
  /// `spec.nodeName` set by the user (NodeName plugin), not the binding.
  public var nodeName: String
  public var schedulerName: String
  /// GPU-sharing request (the openb model); nil for pods that use no shared GPUs.
  public var gpu: GPURequest?
  public var topologySpreadConstraints: [TopologySpreadConstraint] = []
  /// `spec.affinity.podAffinity` and `podAntiAffinity`.
  public var podAffinity = PodAffinityRules()
  public var podAntiAffinity = PodAffinityRules()
  /// The selector of the Services, ReplicationControllers, ReplicaSets and StatefulSets that
  /// select or own this pod, merged; PodTopologySpread's cluster default constraints use it when
  /// the pod has no constraints of its own. nil when nothing selects the pod.
  public var defaultSpreadSelector: LabelSelector?
  /// `PreemptLowerPriority` (true, the default) or `Never`, from the pod's PriorityClass.
  public var preemptLowerPriority = true
  /// Seconds a deleted pod keeps its node before it is gone (`terminationGracePeriodSeconds`).
  public var terminationGracePeriodSeconds: Int64 = 30
  /// `metadata.creationTimestamp` in seconds since 1970, when given: a queue run lets the pod
  /// arrive that long after the earliest pod.
  public var creationTimestamp: Double?
  /// `spec.schedulingGates` names; a gated pod is not scheduled.
  public var schedulingGates: [String] = []
  /// `status.phase` as read (Pending when absent). A Succeeded or Failed pod holds nothing and
  /// is never scheduled.
  public var phase: PodPhase = .pending
  /// Scheduling-relevant fields the input set but this release does not enforce (for example
  /// `topologySpreadConstraints`), so a run can say so instead of silently ignoring them.
  public var unenforced: [String] = []
  /// What node autoscalers ask before they drain the pod's node (`DrainFacts`).
  public var drain = DrainFacts()

  public init(
    name: String, namespace: String = "default", labels: [String: String] = [:],
    containers: [Container] = [], initContainers: [Container] = [],
    overhead: ResourceList = ResourceList(),
    nodeSelector: [String: String] = [:], affinity: NodeAffinity? = nil,
    tolerations: [Toleration] = [],
    priority: Int32 = 0, priorityClassName: String = "", nodeName: String = "",
    schedulerName: String = "default-scheduler", gpu: GPURequest? = nil
  ) {
    self.gpu = gpu
    self.name = name
    self.namespace = namespace
    self.labels = labels
    self.containers = containers
    self.initContainers = initContainers
    self.overhead = overhead
    self.nodeSelector = nodeSelector
    self.affinity = affinity
    self.tolerations = tolerations
    self.priority = priority
    self.priorityClassName = priorityClassName
    self.nodeName = nodeName
    self.schedulerName = schedulerName
  }

  /// The selector PodTopologySpread's system default constraints use for a pod with these
  /// labels (upstream `DefaultSelector`): the merged selectors of the Services in its namespace
  /// that select it (a Service without a selector selects nothing, an empty one every pod) and
  /// of its controlling workload; nil when nothing selects it.
  public static func defaultSpreadSelector(
    labels podLabels: [String: String], serviceSelectors: [[String: String]?], owner: LabelSelector?
  ) -> LabelSelector? {
    var labels: [String: String] = [:]
    var expressions: [LabelSelector.Requirement] = []
    for selector in serviceSelectors {
      guard let selector, selector.allSatisfy({ podLabels[$0.key] == $0.value }) else { continue }
      labels.merge(selector) { _, new in new }
    }
    if let owner {
      for p in owner.matchLabels { labels[p.key] = p.value }
      expressions += owner.matchExpressions
    }
    guard !labels.isEmpty || !expressions.isEmpty else { return nil }
    return LabelSelector(matchLabels: labels, matchExpressions: expressions)
  }

  /// Host ports the pod claims (container ports with `hostPort > 0`, init containers included
  /// as upstream's `getContainerPorts` includes them).
  public var hostPorts: [ContainerPort] {
    (initContainers + containers).flatMap { $0.ports.filter { $0.hostPort > 0 } }
  }

  /// Image names of every container, init containers first, as ImageLocality walks them.
  public var images: [String] { (initContainers + containers).map(\.image).filter { !$0.isEmpty } }
}

/// What the Cluster Autoscaler's drainability rules and Karpenter's disruption read from a pod
/// beyond scheduling: its controller, the annotations they honour and its local volumes.
public struct DrainFacts: Hashable, Sendable {
  /// The kind of the controller owner reference (`metadata.ownerReferences[controller=true]`);
  /// empty for a pod no controller owns.
  public var controllerKind = ""
  /// `cluster-autoscaler.kubernetes.io/safe-to-evict`: true, false, or nil when absent (or any
  /// other value).
  public var safeToEvict: Bool?
  /// `cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes`, split at commas.
  public var safeToEvictLocalVolumes: [String] = []
  /// Volumes that keep data on the node: `hostPath`, and `emptyDir` not backed by memory.
  public var localVolumes: [String] = []
  /// A static pod's mirror (`kubernetes.io/config.mirror`).
  public var mirror = false
  /// `karpenter.sh/do-not-disrupt: "true"`.
  public var doNotDisrupt = false

  public init() {}

  public static let safeToEvictKey = "cluster-autoscaler.kubernetes.io/safe-to-evict"
  public static let safeToEvictLocalVolumesKey =
    "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"
  public static let mirrorKey = "kubernetes.io/config.mirror"
  public static let doNotDisruptKey = "karpenter.sh/do-not-disrupt"

  /// The facts of a pod with these annotations and volumes (`(name, hostPath or disk-backed
  /// emptyDir)`), owned by a controller of kind `controllerKind` (empty: none).
  public init(annotations: [String: String], localVolumes: [String], controllerKind: String) {
    self.controllerKind = controllerKind
    switch annotations[Self.safeToEvictKey] {
    case "true": safeToEvict = true
    case "false": safeToEvict = false
    default: safeToEvict = nil
    }
    if let list = annotations[Self.safeToEvictLocalVolumesKey] {
      safeToEvictLocalVolumes = list.split(separator: ",").map {
        String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
      }
    }
    self.localVolumes = localVolumes
    mirror = annotations[Self.mirrorKey] != nil
    doNotDisrupt = annotations[Self.doNotDisruptKey] == "true"
  }
}

/// A Namespace object: what namespace selectors of pod-affinity terms see.
public struct NamespaceSpec: Hashable, Sendable {
  public var name: String
  public var labels: [String: String]
  public init(name: String, labels: [String: String] = [:]) {
    self.name = name
    self.labels = labels
  }
}

/// A PriorityClass: the priority its pods get at admission.
public struct PriorityClassSpec: Hashable, Sendable {
  public var name: String
  public var value: Int32
  public var globalDefault: Bool
  /// `PreemptLowerPriority` (true) or `Never`.
  public var preemptLowerPriority: Bool
  public init(
    name: String, value: Int32, globalDefault: Bool = false, preemptLowerPriority: Bool = true
  ) {
    self.name = name
    self.value = value
    self.globalDefault = globalDefault
    self.preemptLowerPriority = preemptLowerPriority
  }

  /// The classes every cluster has.
  public static let builtIn = [
    PriorityClassSpec(name: "system-cluster-critical", value: 2_000_000_000),
    PriorityClassSpec(name: "system-node-critical", value: 2_000_001_000),
  ]
}

/// An integer or a percentage (`intstr.IntOrString` as PodDisruptionBudgets use it).
public enum IntOrPercent: Hashable, Sendable {
  case int(Int)
  case percent(Int)

  /// `GetScaledValueFromIntOrPercent(…, total, roundUp: true)`.
  public func scaled(total: Int) -> Int { scaled(total: total, roundUp: true) }

  /// `GetScaledValueFromIntOrPercent`: a percentage of `total`, rounded up or down (a Deployment's
  /// maxSurge rounds up, its maxUnavailable down).
  public func scaled(total: Int, roundUp: Bool) -> Int {
    switch self {
    case .int(let n): return n
    case .percent(let p):
      let product = p * total
      if roundUp { return product >= 0 ? (product + 99) / 100 : product / 100 }
      return product >= 0 ? product / 100 : (product - 99) / 100
    }
  }
}

/// A PodDisruptionBudget: how many of the pods it selects (in its namespace) may be down.
public struct PodDisruptionBudgetSpec: Hashable, Sendable {
  public var name: String
  public var namespace: String
  /// nil or empty selects no pod (upstream's preemption treats both as matching nothing).
  public var selector: LabelSelector?
  public var minAvailable: IntOrPercent?
  public var maxUnavailable: IntOrPercent?

  public init(
    name: String, namespace: String = "default", selector: LabelSelector?,
    minAvailable: IntOrPercent? = nil, maxUnavailable: IntOrPercent? = nil
  ) {
    self.name = name
    self.namespace = namespace
    self.selector = selector
    self.minAvailable = minAvailable
    self.maxUnavailable = maxUnavailable
  }

  /// The disruption controller's `disruptionsAllowed` for `expected` selected pods of which
  /// `healthy` are running: healthy − desired, 0 when that is negative or nothing is expected;
  /// desired = expected − maxUnavailable (a percentage rounded up, at least 0), else
  /// minAvailable (likewise), else 0.
  public func disruptionsAllowed(expected: Int, healthy: Int) -> Int {
    var desired = 0
    if let u = maxUnavailable {
      desired = max(0, expected - u.scaled(total: expected))
    } else if let m = minAvailable {
      desired = m.scaled(total: expected)
    }
    return expected <= 0 ? 0 : max(0, healthy - desired)
  }
}

/// `status.phase` of a pod.
public enum PodPhase: String, Sendable, CaseIterable {
  case pending = "Pending"
  case running = "Running"
  case succeeded = "Succeeded"
  case failed = "Failed"
  case unknown = "Unknown"

  /// Succeeded and Failed pods have finished: their containers hold no resources.
  @inlinable public var isFinished: Bool { self == .succeeded || self == .failed }

  /// The phase as one byte (`PodTable.phase`): its place in `allCases`.
  @inlinable public var code: UInt8 {
    switch self {
    case .pending: return 0
    case .running: return 1
    case .succeeded: return 2
    case .failed: return 3
    case .unknown: return 4
    }
  }

  /// The phase of a `code` (anything out of range reads Unknown). A switch, not `allCases`:
  /// per-pod loops read it, and the array would be retained at every read.
  @inlinable public init(code: UInt8) {
    switch code {
    case 0: self = .pending
    case 1: self = .running
    case 2: self = .succeeded
    case 3: self = .failed
    default: self = .unknown
    }
  }
}
