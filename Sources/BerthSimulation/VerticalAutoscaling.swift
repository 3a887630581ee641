import BerthAutoscaling
import BerthCore
import BerthEngine
import BerthTraces

/// The VPA's recommender, admission controller and updater in the simulated cluster
/// (kubernetes/autoscaler `vertical-pod-autoscaler`), for the scenario's VerticalPodAutoscaler
/// objects, on the main container of the pods their target's selector matches.
///
/// Flags: `spec.settings.vpaRecommender` and `spec.settings.vpaUpdater`, by upstream's names.
///
/// - Recommender (every `--recommender-interval`, 1 min): each pod's last metrics-server sample
///   (CPU cores, memory bytes) and each OOM kill (with the container's memory request) feed the
///   VPA's `VPAModel`; the recommendation is recorded (`VerticalPodAutoscaler` fields).
/// - Admission (pod creation): unless the mode is Off, the main container's requests become the
///   target (controlled resources only), limits kept in proportion (RequestsAndLimits).
/// - Updater (every `--updater-interval`, 1 min; Recreate, Auto and InPlaceOrRecreate): the
///   candidates and their order are upstream's (`VPAUpdatePriority`: outside the recommended
///   range, or 12 h old and 10 % off, or a quick OOM kill; growing pods first, then by the size
///   of the change), the pods of the target's controller disrupted at most as
///   `VPADisruptionGroup` allows (`--min-replicas` 2, `--eviction-tolerance` 0.5) and through
///   the PodDisruptionBudgets. Recreate evicts (EvictedByVPA). InPlaceOrRecreate asks the
///   kubelet to resize the running pod (InPlaceResizedByVPA): done at once when the node has
///   room (the container restarts when its resizePolicy says RestartContainer for a resource
///   that changed), Deferred while it has not (retried every loop), Infeasible when the pod would not fit
///   the node even empty; a Deferred resize older than 5 minutes, or an Infeasible one, falls
///   back to eviction. `InPlace` resizes the same way but never evicts: a Deferred resize
///   waits, an Infeasible one is asked again only when the recommendation lowers something.
final class VerticalAutoscaling: Component {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  let flags: VPARecommenderFlags
  let updater: VPAUpdaterFlags
  /// A Deferred in-place resize falls back to eviction after this long (upstream's
  /// DeferredResizeUpdateTimeout).
  static let deferredResizeTimeout: Int64 = 5 * 60 * 1_000_000_000

  struct State {
    var spec: VPASpec
    var model: VPAModel
    /// The main container's recommendation (nil until there is one).
    var recommendation: VPAContainerRecommendation?
    /// Bumped when the recommendation applied at admission changes.
    var version: UInt32 = 1
    var series = -1
    var evictions = 0
    var inPlaceResizes = 0
  }
  @exclusivity(unchecked) private(set) var vpas: [State] = []
  /// Each VPA's pods.
  @exclusivity(unchecked) private var groups = PodGroups(groups: 0)
  @exclusivity(unchecked) private var selecting: [UInt64: Int32] = [:]

  /// The main container's resources as the pod runs with them (requests and limits;
  /// millicores and bytes; a limit of 0: none).
  struct MainResources: Equatable {
    var cpu: Int64 = 0
    var memory: Int64 = 0
    var cpuLimit: Int64 = 0
    var memoryLimit: Int64 = 0
    /// The VPA version admission applied (0: none).
    var version: UInt32 = 0
    var isSet = false
  }
  /// Per pod row: the main container's resources, for pods a VPA selects.
  @exclusivity(unchecked) private var actual: [MainResources] = []
  /// Per pod row: a resize the kubelet has not done (PodResizePending): its target, when it
  /// was asked for, and whether it is Infeasible (else Deferred).
  @exclusivity(unchecked) private var pendingResize:
    [(target: MainResources, since: Int64, infeasible: Bool)?] = []

  static let fields = [
    "targetCpuMillis", "targetMemoryBytes", "lowerBoundCpuMillis", "lowerBoundMemoryBytes",
    "upperBoundCpuMillis", "upperBoundMemoryBytes",
  ]

  init(_ sim: Simulation) {
    self.sim = sim
    flags = sim.settings.vpaRecommender
    updater = sim.settings.vpaUpdater
    for spec in sim.scenario.verticalPodAutoscalers {
      var s = State(spec: spec, model: VPAModel(flags: flags))
      s.series = sim.recorder.series(
        kind: "VerticalPodAutoscaler", namespace: spec.namespace, name: spec.name,
        fields: Self.fields)
      vpas.append(s)
    }
    groups = PodGroups(groups: vpas.count)
  }

  var name: String { "vertical-pod-autoscaler" }

  func start(_ engine: Engine) {
    guard !vpas.isEmpty else { return }
    let recommender = VirtualTime(nanoseconds: flags.intervalMillis * 1_000_000)
    let updaterEvery = VirtualTime(nanoseconds: updater.intervalMillis * 1_000_000)
    engine.every(recommender, self, first: recommender, tag: 0)
    engine.every(updaterEvery, self, first: updaterEvery, tag: 1)
  }

  func fire(_ timer: BerthEngine.Timer, _ engine: Engine) {
    if timer.tag == 0 { recommend() } else { update() }
  }

  // MARK: Membership

  private func selector(_ i: Int) -> LabelSelector? {
    let ref = vpas[i].spec.targetRef
    return sim.targetSelector(kind: ref.kind, namespace: vpas[i].spec.namespace, name: ref.name)
  }

  /// The VPA selecting pods of this label set and namespace (-1: none).
  private func vpa(labels: UInt32, namespace: UInt32) -> Int32 {
    let key = UInt64(labels) << 32 | UInt64(namespace)
    if let hit = selecting[key] { return hit }
    let pods = sim.cluster.pods
    let found = firstVPA(selecting: pods.labelSets[labels], in: pods.namespaces[namespace])
    selecting[key] = Int32(found ?? -1)
    return Int32(found ?? -1)
  }

  private func firstVPA(selecting labels: [String: String], in namespace: String) -> Int? {
    vpas.indices.first { i in
      vpas[i].spec.namespace == namespace && (selector(i)?.matches(labels) ?? false)
    }
  }

  /// The main container's resources of a pod a VPA selects (nil: none does, or none did when
  /// it was created).
  func resources(of pod: PodID) -> MainResources? {
    guard pod.index < actual.count, actual[pod.index].isSet else { return nil }
    return actual[pod.index]
  }

  // MARK: Admission

  /// Admission: the pod about to be created gets the target as its main container's requests.
  /// - Returns: the main container's resources after admission; nil when no VPA selects it.
  func admit(_ spec: inout PodSpec) -> MainResources? {
    guard !vpas.isEmpty, !spec.containers.isEmpty,
      let i = firstVPA(selecting: spec.labels, in: spec.namespace)
    else { return nil }
    var c = spec.containers[0]
    if vpas[i].spec.updateMode != .off, let r = vpas[i].recommendation {
      let requestsOnly = vpas[i].spec.policy(for: c.name)?.requestsOnly ?? false
      if r.controlled.contains("cpu") {
        Self.set(
          &c, ResourceName.cpu, milli: Self.heldCPU(r.target.cpuMilli),
          requestsOnly: requestsOnly)
      }
      if r.controlled.contains("memory") {
        Self.set(
          &c, ResourceName.memory,
          milli: Self.heldMemory(r.target.memoryBytes) * 1000,
          requestsOnly: requestsOnly)
      }
      spec.containers[0] = c
    }
    var m = Self.resources(of: c)
    m.version = vpas[i].version
    return m
  }

  /// The VPA's values held below 10^12 cores and 10^15 bytes (a petabyte): whatever the
  /// inputs, a pod stays within the scheduler's integer units.
  static func heldCPU(_ milli: Int64) -> Int64 { min(max(milli, 0), 1_000_000_000_000_000) }
  static func heldMemory(_ bytes: Int64) -> Int64 { min(max(bytes, 0), 1_000_000_000_000_000) }

  static func resources(of c: Container) -> MainResources {
    func milli(_ q: Quantity?) -> Int64 { (try? q?.milliValue()) ?? 0 }
    func bytes(_ q: Quantity?) -> Int64 { (try? q?.value()) ?? 0 }
    return MainResources(
      cpu: milli(c.requests[ResourceName.cpu]), memory: bytes(c.requests[ResourceName.memory]),
      cpuLimit: milli(c.limits[ResourceName.cpu]),
      memoryLimit: bytes(c.limits[ResourceName.memory]),
      isSet: true)
  }

  /// A request set to `milli`; the limit kept in proportion (`limit × new / old`), or equal to
  /// the request when it was, or when there was no request (RequestsAndLimits).
  static func set(_ c: inout Container, _ resource: String, milli: Int64, requestsOnly: Bool) {
    let old = (try? c.requests[resource]?.milliValue()) ?? nil
    let limit = (try? c.limits[resource]?.milliValue()) ?? nil
    c.requests[resource] = Quantity(milli: milli)
    guard !requestsOnly, let limit else { return }
    c.limits[resource] = Quantity(milli: proportionalLimit(limit, old: old, new: milli))
  }

  static func proportionalLimit(_ limit: Int64, old: Int64?, new: Int64) -> Int64 {
    guard let old, old > 0, old != limit else { return new }
    let scaled = Double(limit) * Double(new) / Double(old)
    return scaled >= 9e18 ? Int64.max / 1000 * 1000 : Int64(scaled)
  }

  /// A new pod: `admitted` from `admit` (its own resources), or a copy of `prototype`'s row.
  func podCreated(_ pod: PodID, admitted adm: MainResources?, copying prototype: PodID? = nil) {
    guard !vpas.isEmpty else { return }
    while actual.count <= pod.index {
      actual.append(MainResources())
      pendingResize.append(nil)
    }
    actual[pod.index] = MainResources()
    pendingResize[pod.index] = nil
    let pods = sim.cluster.pods
    let h = vpa(labels: pods.labels[pod.index], namespace: pods.namespace[pod.index])
    guard h >= 0 else { return }
    if let prototype, prototype.index < actual.count, actual[prototype.index].isSet {
      actual[pod.index] = actual[prototype.index]
    } else if let adm {
      actual[pod.index] = adm
    } else {
      let spec = sim.podSpec(pod)
      actual[pod.index] =
        spec.containers.first.map(Self.resources(of:)) ?? MainResources(isSet: true)
    }
    groups.add(pod, to: Int(h))
  }

  func podRemoved(_ pod: PodID) {
    guard groups.group(of: pod) != nil else { return }
    groups.remove(pod)
    pendingResize[pod.index] = nil
  }

  /// Whether a ReplicaSet's prototype pod still has the requests admission would give now.
  func isCurrent(_ prototype: PodID) -> Bool {
    guard !vpas.isEmpty, prototype.index < actual.count else { return true }
    let pods = sim.cluster.pods
    let h = vpa(labels: pods.labels[prototype.index], namespace: pods.namespace[prototype.index])
    guard h >= 0, vpas[Int(h)].spec.updateMode != .off else { return true }
    return actual[prototype.index].version == vpas[Int(h)].version
  }

  /// A container of `pod` was OOM-killed.
  func oomKilled(_ pod: PodID) {
    guard let h = groups.group(of: pod) else { return }
    vpas[h].model.addOOM(
      pod: String(sim.records[pod.index].uid), container: sim.mainContainer(pod).name,
      at: sim.horizontalAutoscaling.unixMillis(sim.now),
      requestBytes: Double(actual[pod.index].memory))
  }

  // MARK: Recommender

  private func recommend() {
    let metrics = sim.workloadMetrics!
    guard metrics.scrapeTime.nanoseconds >= 0 else { return }
    let at = sim.horizontalAutoscaling.unixMillis(metrics.scrapeTime)
    let now = sim.horizontalAutoscaling.unixMillis(sim.now)
    for i in vpas.indices {
      for p in groups.members[i] {
        guard let u = metrics.sample(p) else { continue }
        vpas[i].model.addUsage(
          pod: String(sim.records[p.index].uid), container: sim.mainContainer(p).name, at: at,
          cpuCores: Double(u.cpuMilli) / 1000, memoryBytes: Double(u.memoryBytes))
      }
      let recs = vpas[i].model.recommendations(vpa: vpas[i].spec, at: now)
      let main = groups.members[i].first.map { sim.mainContainer($0).name }
      let r = recs.first { $0.containerName == main } ?? recs.first
      if r?.target != vpas[i].recommendation?.target { vpas[i].version &+= 1 }
      vpas[i].recommendation = r
      if let r {
        let s = vpas[i].series
        for (k, v) in [
          r.target.cpuMilli, r.target.memoryBytes, r.lowerBound.cpuMilli, r.lowerBound.memoryBytes,
          r.upperBound.cpuMilli, r.upperBound.memoryBytes,
        ].enumerated() {
          sim.recorder.set(series: s + k, Int(clamping: v))
        }
      }
    }
  }

  // MARK: Updater

  private func update() {
    let now = sim.horizontalAutoscaling.unixMillis(sim.now)
    for i in vpas.indices {
      let mode = vpas[i].spec.updateMode
      guard mode == .recreate || mode == .auto || mode == .inPlaceOrRecreate || mode == .inPlace,
        let r = vpas[i].recommendation
      else { continue }
      let inPlace = mode == .inPlaceOrRecreate || mode == .inPlace
      let pods = sim.cluster.pods
      let live = groups.members[i].filter { !sim.isGone($0) && !pods.isTerminating($0) }
      let ref = vpas[i].spec.targetRef
      let configured =
        sim.targetScale(kind: ref.kind, namespace: vpas[i].spec.namespace, name: ref.name)?.spec
        ?? Int32(live.count)
      let pending = live.filter { pods.phase(of: $0) == .pending }.count
      guard
        var group = VPADisruptionGroup(
          configured: Int(configured), live: live.count, pending: pending,
          minReplicas: vpas[i].spec.minReplicas ?? updater.minReplicas, flags: updater)
      else { continue }
      if inPlace {
        for p in live where pendingResize[p.index].map({ !$0.infeasible }) ?? false {
          retryResize(p, vpa: i)
        }
      }
      let bounds = [VPARecommendedBounds(r)]
      var candidates: [(PodID, VPAPodPriority)] = []
      for p in live {
        let a = actual[p.index]
        let container = VPAUpdateContainer(
          name: r.containerName,
          requests: VPAAmounts(
            cpuMilli: a.cpu,
            memoryMilli: Self.heldMemory(a.memory) * 1000))
        let priority = VPAUpdatePriority.priority(containers: [container], recommendations: bounds)
        let record = sim.records[p.index]
        let started = pods.startedAt[p.index]
        let quickOOM =
          record.oomKilled && record.lastRunNanos >= 0
          && record.lastRunNanos / 1_000_000 < updater.evictAfterOOMThresholdMillis
        let accepted = VPAUpdatePriority.accepts(
          priority, quickOOM: quickOOM,
          startTime: started == PodTable.never
            ? nil
            : sim.horizontalAutoscaling.unixMillis(
              VirtualTime(nanoseconds: started)),
          now: now, flags: updater)
        if accepted { candidates.append((p, priority)) }
      }
      for p in VPAUpdatePriority.sorted(candidates) {
        let isPending = pods.phase(of: p) == .pending
        if inPlace {
          if isPending { continue }
          if let resize = pendingResize[p.index] {
            if mode == .inPlace {
              // InPlace never evicts: a Deferred resize waits; an Infeasible one is tried
              // again only once the recommendation asks for less of something.
              guard resize.infeasible, Self.hasLower(resized(p, vpa: i, to: r), than: resize.target)
              else { continue }
              pendingResize[p.index] = nil
            } else {
              let expired =
                resize.infeasible || sim.now.nanoseconds - resize.since > Self.deferredResizeTimeout
              if expired && group.isPodDisruptable && evict(p, vpa: i) { group.evicted += 1 }
              continue
            }
          }
          guard group.isPodDisruptable else { continue }
          resizeInPlace(p, vpa: i, to: r)
          group.inPlaceUpdateInitiated += 1
          continue
        }
        guard group.canEvict(pending: isPending) else { continue }
        if evict(p, vpa: i) { group.evicted += 1 }
      }
    }
  }

  /// Evicts through the PodDisruptionBudgets (the Eviction API): false when one forbids it.
  private func evict(_ pod: PodID, vpa i: Int) -> Bool {
    for b in 0..<sim.cluster.disruptionBudgets.count where sim.cluster.budget(b, covers: pod) {
      if sim.nodes.disruptionsAllowed(b) <= 0 { return false }
    }
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "EvictedByVPA",
      message: "Pod was evicted by VPA Updater to apply resource recommendation.")
    sim.records[pod.index].disrupted = true
    sim.deletePod(pod)
    vpas[i].evictions += 1
    return true
  }

  // MARK: In-place resize

  /// The resources `r` gives the pod's main container now (controlled resources only; limits
  /// in proportion unless RequestsOnly).
  private func resized(_ pod: PodID, vpa i: Int, to r: VPAContainerRecommendation) -> MainResources
  {
    var m = actual[pod.index]
    let requestsOnly = vpas[i].spec.policy(for: r.containerName)?.requestsOnly ?? false
    if r.controlled.contains("cpu") {
      let cpu = Self.heldCPU(r.target.cpuMilli)
      if !requestsOnly && m.cpuLimit > 0 {
        m.cpuLimit = Self.proportionalLimit(m.cpuLimit, old: m.cpu, new: cpu)
      }
      m.cpu = cpu
    }
    if r.controlled.contains("memory") {
      let memory = Self.heldMemory(r.target.memoryBytes)
      if !requestsOnly && m.memoryLimit > 0 {
        m.memoryLimit = Self.proportionalLimit(m.memoryLimit, old: m.memory, new: memory)
      }
      m.memory = memory
    }
    m.version = vpas[i].version
    return m
  }

  private func resizeInPlace(_ pod: PodID, vpa i: Int, to r: VPAContainerRecommendation) {
    let target = resized(pod, vpa: i, to: r)
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "InPlaceResizedByVPA",
      message: "Pod was resized in place by VPA Updater.")
    vpas[i].inPlaceResizes += 1
    switch sim.kubelet.resize(pod, from: actual[pod.index], to: target) {
    case .done: apply(pod, target)
    case .deferred: pendingResize[pod.index] = (target, sim.now.nanoseconds, false)
    case .infeasible: pendingResize[pod.index] = (target, sim.now.nanoseconds, true)
    }
  }

  /// `RecommendationHasLowerResource`: whether `a` asks for less CPU or memory than `b`.
  static func hasLower(_ a: MainResources, than b: MainResources) -> Bool {
    a.cpu < b.cpu || a.memory < b.memory
  }

  /// The kubelet retries a Deferred resize.
  private func retryResize(_ pod: PodID, vpa i: Int) {
    guard let p = pendingResize[pod.index] else { return }
    switch sim.kubelet.resize(pod, from: actual[pod.index], to: p.target) {
    case .done:
      pendingResize[pod.index] = nil
      apply(pod, p.target)
    case .deferred: break
    case .infeasible: pendingResize[pod.index]?.infeasible = true
    }
  }

  /// The resize is actuated: the cluster's requests, the usage model and the HPA follow.
  private func apply(_ pod: PodID, _ m: MainResources) {
    let old = actual[pod.index]
    let pods = sim.cluster.pods
    let p = pod.index
    func nonZero(_ v: Int64, _ fallback: Int64) -> Int64 { v > 0 ? v : fallback }
    sim.cluster.resizePod(
      pod, requestCPU: pods.requestCPU[p] - old.cpu + m.cpu,
      requestMemory: pods.requestMemory[p] - old.memory + m.memory,
      nonZeroCPU: pods.nonZeroCPU[p] - nonZero(old.cpu, PodRequests.defaultMilliCPU)
        + nonZero(m.cpu, PodRequests.defaultMilliCPU),
      nonZeroMemory: pods.nonZeroMemory[p] - nonZero(old.memory, PodRequests.defaultMemoryBytes)
        + nonZero(m.memory, PodRequests.defaultMemoryBytes))
    actual[p] = m
    sim.workloadMetrics.podChanged(pod, resized: true)
    sim.horizontalAutoscaling.podResized(pod)
    // resizePolicy RestartContainer for a resource that changed: the container restarts.
    let spec = sim.podSpec(pod)
    let restartOn = spec.containers.first?.restartOnResize ?? []
    if (restartOn.contains("cpu") && (old.cpu != m.cpu || old.cpuLimit != m.cpuLimit))
      || (restartOn.contains("memory")
        && (old.memory != m.memory || old.memoryLimit != m.memoryLimit))
    {
      sim.kubelet.restartForResize(pod)
    }
  }

  // MARK: Reports

  /// What is wrong with the VPAs' pod lists, if anything: each pod not gone that a VPA's
  /// target selects is on the first such VPA's list, and on no other.
  func violation() -> String? {
    guard !vpas.isEmpty else { return nil }
    let pods = sim.cluster.pods
    var expected = Array(repeating: 0, count: vpas.count)
    for p in 0..<min(pods.count, sim.records.count) {
      let pod = PodID(UInt32(p))
      guard !sim.isGone(pod) else { continue }
      guard let i = firstVPA(selecting: pods.labelSets[pods.labels[p]], in: sim.namespace(pod))
      else { continue }
      expected[i] += 1
      guard groups.group(of: pod) == i else {
        return "pod \(sim.name(pod)) is not on the list of VPA \(vpas[i].spec.name)"
      }
    }
    for i in vpas.indices where groups.members[i].count != expected[i] {
      return "VPA \(vpas[i].spec.name) lists \(groups.members[i].count) pods; \(expected[i]) match"
    }
    return nil
  }
}
