/// The scheduling-relevant spec of a pod beyond its requests, interned: pods of one workload
/// share one entry, so per-pod precomputation can be cached per entry.
public struct PodConstraints: Hashable, Sendable {
  /// `spec.nodeSelector`, sorted by key.
  public var nodeSelector: [LabelPair]
  public var affinity: NodeAffinity?
  public var tolerations: [Toleration]
  public var hostPorts: [ContainerPort]
  /// Container images (init containers first), normalised with `:latest` where untagged.
  public var images: [String]
  /// Number of containers ImageLocality divides by (init + regular).
  public var containerCount: Int
  /// `spec.nodeName` if the user pinned the pod, else empty.
  public var nodeName: String
  /// Topology spread constraints with `matchLabelKeys` already folded into their selectors, or
  /// the system defaults when the pod has none and a workload or Service selects it.
  public var spread: [TopologySpreadConstraint] = []
  /// `spread` holds the system defaults: nodes missing a key are not ignored when scoring.
  public var spreadIsSystemDefault = false
  /// Inter-pod affinity and anti-affinity, `matchLabelKeys`/`mismatchLabelKeys` folded into the
  /// selectors as the API server does at creation.
  public var podAffinity = PodAffinityRules()
  public var podAntiAffinity = PodAffinityRules()

  /// `preemptionPolicy: PreemptLowerPriority` (the default) rather than `Never`.
  public var preemptLowerPriority = true
  public var terminationGracePeriodSeconds: Int64 = 30
  public var schedulingGates: [String] = []

  /// The pod carries any inter-pod affinity or anti-affinity term.
  public var hasPodAffinity: Bool { !podAffinity.isEmpty || !podAntiAffinity.isEmpty }

  public init(
    nodeSelector: [LabelPair] = [], affinity: NodeAffinity? = nil, tolerations: [Toleration] = [],
    hostPorts: [ContainerPort] = [], images: [String] = [], containerCount: Int = 1,
    nodeName: String = ""
  ) {
    self.nodeSelector = nodeSelector.sorted { $0.key < $1.key }
    self.affinity = affinity
    self.tolerations = tolerations
    self.hostPorts = hostPorts
    self.images = images
    self.containerCount = containerCount
    self.nodeName = nodeName
  }

  public init(_ pod: PodSpec) {
    self.init(
      nodeSelector: pod.nodeSelector.map { LabelPair(key: $0.key, value: $0.value) },
      affinity: pod.affinity, tolerations: pod.tolerations, hostPorts: pod.hostPorts,
      images: (pod.initContainers + pod.containers).map {
        PodConstraints.normalizedImageName($0.image)
      },
      containerCount: pod.initContainers.count + pod.containers.count, nodeName: pod.nodeName)
    spread = pod.topologySpreadConstraints.map { c in
      var e = c
      e.labelSelector = c.effectiveSelector(podLabels: pod.labels)
      e.matchLabelKeys = []
      return e
    }
    preemptLowerPriority = pod.preemptLowerPriority
    terminationGracePeriodSeconds = pod.terminationGracePeriodSeconds
    schedulingGates = pod.schedulingGates
    podAffinity = pod.podAffinity.folded(podLabels: pod.labels)
    podAntiAffinity = pod.podAntiAffinity.folded(podLabels: pod.labels)
    if spread.isEmpty, let selector = pod.defaultSpreadSelector {
      // The scheduler's system defaults (PodTopologySpread `defaultingType: System`).
      spread = [
        TopologySpreadConstraint(
          maxSkew: 3, topologyKey: "kubernetes.io/hostname", doNotSchedule: false,
          labelSelector: selector),
        TopologySpreadConstraint(
          maxSkew: 5, topologyKey: "topology.kubernetes.io/zone", doNotSchedule: false,
          labelSelector: selector),
      ]
      spreadIsSystemDefault = true
    }
  }

  /// Adds `:latest` when the part after the last `/` carries no tag (`normalizedImageName`).
  public static func normalizedImageName(_ name: String) -> String {
    let lastColon = name.lastIndex(of: ":")
    let lastSlash = name.lastIndex(of: "/")
    switch (lastColon, lastSlash) {
    case (nil, _): return name + ":latest"
    case (let colon?, let slash?) where colon <= slash: return name + ":latest"
    default: return name
    }
  }
}

public struct LabelPair: Hashable, Sendable {
  public var key: String
  public var value: String
  public init(key: String, value: String) {
    self.key = key
    self.value = value
  }
}
