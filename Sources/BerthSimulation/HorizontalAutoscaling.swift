import BerthAutoscaling
import BerthCore
import BerthEngine
import BerthTraces
import CBerthSystem

/// kube-controller-manager's horizontal-pod-autoscaler controller in the simulated cluster:
/// every HPA of the scenario is reconciled at its creation and every
/// `--horizontal-pod-autoscaler-sync-period` after (15 s), with the same
/// `HorizontalController` `berth hpa explain` runs, on the pods its target's selector matches
/// and the metrics `WorkloadMetrics` serves; a new count is written to the target's
/// `spec.replicas` as `kubectl scale` would.
///
/// Metrics: Resource and ContainerResource metrics from metrics-server's last scrape (the main
/// container carries the pod's usage; sidecars use nothing); Pods metrics named after a load
/// are each pod's share of it (requests per second per ready pod); Object and External metrics
/// named after a load read its value at the reconcile. Any other metric is missing.
final class HorizontalAutoscaling: Component {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  /// The simulation as the pod views carry it: reading `sim` into a view retained it, an
  /// object every reconciling thread shares.
  let simulation: Unmanaged<Simulation>
  let controller: HorizontalController

  /// One HPA's controller state. A reference, so reconciles of different HPAs can update
  /// their own on different threads without touching a shared array.
  final class State {
    /// Constant: a reconcile borrows it in place (a `var`, or an array's element, it would
    /// copy, retaining all the spec holds).
    let spec: HPASpec
    var selector: LabelSelector
    @exclusivity(unchecked) var history = HPAHistory()
    @exclusivity(unchecked) var conditions: [HPACondition] = []
    var desired: Int32 = 0
    var series = -1
    /// Per metric of the spec: whether its current value is a utilization percent.
    var metricIsPercent: [Bool] = []
    var scaleEvents = 0
    var directionChanges = 0
    var lastDirection: Int8 = 0
    /// The target's state in its controller, by kind, unretained (nil: not found yet).
    /// Controllers keep every state they made, deleted ones flagged, for the simulation's
    /// lifetime.
    @exclusivity(unchecked) var deployment: Unmanaged<DeploymentState>?
    @exclusivity(unchecked) var statefulSet: Unmanaged<StatefulSetState>?
    @exclusivity(unchecked) var replicaSet: Unmanaged<ReplicaSetState>?
    /// The target's kind: 0 Deployment, 1 StatefulSet, 2 ReplicaSet, 3 another.
    var kind: UInt8 = 3
    /// The target's replicas integrated over time, as read at each reconcile.
    var replicaSeconds = 0.0
    var lastReconcile = VirtualTime(nanoseconds: -1)
    var lastReplicas: Int32 = 0
    /// The time of the metrics that first asked for more replicas than the target had, while
    /// that wish is not yet met (the start of the load step as the HPA saw it).
    var wantedMoreSince: VirtualTime?
    /// Scale-ups whose pods are still to be created: (decision, load step, pods left).
    var credits: [(decided: VirtualTime, loadStep: VirtualTime, left: Int32)] = []
    /// Whether a metric reads pods' resource usage (Resource, ContainerResource): the views
    /// then carry each pod's sample.
    var readsUsage = false
    /// Whether its reconcile may be worked out beside other HPAs' (`reconcileAll`): it reads
    /// only its own pods and target, and nothing it reads changes state as it is read.
    var runsBeside = false
    /// The reconcile worked out ahead, beside other HPAs', to be applied in turn.
    @exclusivity(unchecked) var ahead: Answer?

    init(spec: HPASpec, selector: LabelSelector) {
      self.spec = spec
      self.selector = selector
    }
  }

  /// A worked-out reconcile: the target's scale as read, and the controller's answer.
  struct Answer {
    var scale: (spec: Int32, status: Int32)
    var result: HPAReconcile
  }

  /// Per thread: the views of the pods of the HPA it reconciles.
  final class ViewBuffer {
    var views: [SimulatedPod] = []
  }

  @exclusivity(unchecked) private(set) var hpas: [State] = []
  /// Each HPA's pods.
  @exclusivity(unchecked) private(set) var groups = PodGroups(groups: 0)
  /// The HPAs selecting a (label set, namespace): lookups only.
  @exclusivity(unchecked) private var selecting: [UInt64: [Int32]] = [:]
  /// Per pod row, the pod's CPU and memory requests (nil: a container has none).
  @exclusivity(unchecked) private var requests: [(cpu: Int64?, memory: Int64?)] = []
  /// Reconciles worked out beside others and applied in turn; reconciles worked out again after
  /// caching their pods' limits (what tests check the two paths by).
  private(set) var reconciledAhead = 0
  private(set) var limitRetries = 0
  /// Reused per reconcile: one per thread that reconciles.
  private var buffers: [ViewBuffer] = []
  /// HPAs at least, and per chunk a thread takes, for reconciles to run on several threads.
  private static let besideAtLeast = 16
  private static let chunk = 8
  /// Per pod row: the scale-up decision that created the pod (index into `decisions`), -1 none.
  @exclusivity(unchecked) private var decisionOfRow: [Int32] = []
  /// Scale-up decisions pods were created for: when the metrics first asked for more, and when
  /// the HPA wrote the new scale.
  @exclusivity(unchecked) private var decisions: [(loadStep: VirtualTime, decided: VirtualTime)] =
    []

  init(_ sim: Simulation) {
    self.sim = sim
    simulation = .passUnretained(sim)
    controller = HorizontalController(flags: sim.settings.hpa)
    let specs = sim.scenario.horizontalPodAutoscalers + sim.scenario.scaledObjects.map(\.hpa)
    var targets: [String: Int] = [:]
    for spec in specs {
      let ref = spec.scaleTargetRef
      targets["\(ref.kind)/\(spec.namespace)/\(ref.name)", default: 0] += 1
    }
    for (k, spec) in specs.enumerated() {
      let s = State(spec: spec, selector: LabelSelector())
      s.kind = ["Deployment": 0, "StatefulSet": 1, "ReplicaSet": 2][spec.scaleTargetRef.kind] ?? 3
      s.series = sim.recorder.series(
        kind: "HorizontalPodAutoscaler", namespace: spec.namespace, name: spec.name,
        fields: ["currentReplicas", "desiredReplicas"]
          + spec.metrics.map { "currentMetric:" + Self.metricName($0) },
        decimals: Set(
          spec.metrics.compactMap {
            if case .utilization = $0.target { return nil }
            return "currentMetric:" + Self.metricName($0)
          }))
      s.metricIsPercent = spec.metrics.map {
        if case .utilization = $0.target { true } else { false }
      }
      s.readsUsage = spec.metrics.contains {
        switch $0 {
        case .resource, .containerResource: true
        default: false
        }
      }
      // Beside others only: an HPA of the scenario's own (a ScaledObject's reads KEDA's
      // fallback state, which its reads change), alone on its target (another's write of the
      // scale would be read), reading only its pods' samples (Pods metrics read every pod's;
      // Object and External metrics read loads and sources shared with other components).
      let ref = spec.scaleTargetRef
      s.runsBeside =
        k < sim.scenario.horizontalPodAutoscalers.count
        && targets["\(ref.kind)/\(spec.namespace)/\(ref.name)"] == 1
        && spec.metrics.allSatisfy {
          switch $0 {
          case .resource, .containerResource: true
          default: false
          }
        }
      hpas.append(s)
    }
    groups = PodGroups(groups: hpas.count)
  }

  /// The field suffix of a metric: its name, or `container/name` for ContainerResource.
  static func metricName(_ m: HPAMetricSpec) -> String {
    if case .containerResource(let n, let c, _) = m { return c + "/" + n }
    return m.metricName
  }

  var name: String { "horizontal-pod-autoscaler" }

  func start(_ engine: Engine) {
    // Every HPA syncs on the same period from time zero: one timer reconciles them all, in
    // their order, as one timer each would.
    guard !hpas.isEmpty else { return }
    engine.every(
      VirtualTime(nanoseconds: controller.flags.syncPeriodMillis * 1_000_000), self, first: .zero)
  }

  // MARK: Membership

  /// The target's selector, read when the HPA first finds its target.
  private func targetSelector(_ i: Int) -> LabelSelector? {
    let ref = hpas[i].spec.scaleTargetRef
    return sim.targetSelector(kind: ref.kind, namespace: hpas[i].spec.namespace, name: ref.name)
  }

  func podCreated(_ pod: PodID) {
    guard !hpas.isEmpty else { return }
    let pods = sim.cluster.pods
    while requests.count <= pod.index { requests.append((nil, nil)) }
    requests[pod.index] = podRequests(pod)
    let key = UInt64(pods.labels[pod.index]) << 32 | UInt64(pods.namespace[pod.index])
    let list: [Int32]
    if let hit = selecting[key] {
      list = hit
    } else {
      let labels = pods.labelSets[pods.labels[pod.index]]
      let namespace = sim.namespace(pod)
      var out: [Int32] = []
      for (i, h) in hpas.enumerated() where h.spec.namespace == namespace {
        guard let selector = targetSelector(i) else { continue }
        if selector.matches(labels) { out.append(Int32(i)) }
      }
      selecting[key] = out
      list = out
    }
    while decisionOfRow.count <= pod.index { decisionOfRow.append(-1) }
    decisionOfRow[pod.index] = -1
    guard let h = list.first.map(Int.init) else { return }
    groups.add(pod, to: h)
    // A pod the target creates right after a scale-up is one of that scale-up's.
    if !hpas[h].credits.isEmpty {
      let c = hpas[h].credits[0]
      decisionOfRow[pod.index] = Int32(decisions.count)
      decisions.append((c.loadStep, c.decided))
      hpas[h].credits[0].left -= 1
      if c.left <= 1 { hpas[h].credits.removeFirst() }
    }
  }

  /// The HPA scale-up a pod was created for: when the metrics first asked for more replicas and
  /// when the HPA decided (nil: the pod was not created by a scale-up).
  func decision(of pod: PodID) -> (loadStep: VirtualTime, decided: VirtualTime)? {
    guard pod.index < decisionOfRow.count, decisionOfRow[pod.index] >= 0 else { return nil }
    return decisions[Int(decisionOfRow[pod.index])]
  }

  func podRemoved(_ pod: PodID) { groups.remove(pod) }

  /// A pod's requests changed in place (a VPA resize).
  func podResized(_ pod: PodID) {
    guard pod.index < requests.count else { return }
    requests[pod.index] = podRequests(pod)
  }

  /// `calculateRequests` without a container: containers and sidecars summed.
  private func podRequests(_ pod: PodID) -> (cpu: Int64?, memory: Int64?) {
    let spec = sim.podSpec(pod)
    var cpu: Int64? = 0
    var memory: Int64? = 0
    let own = sim.verticalAutoscaling.resources(of: pod)
    for (k, c) in (spec.containers + spec.initContainers.filter(\.restartPolicyAlways)).enumerated()
    {
      // Sums that leave Int64 count as missing (the API's integers would not hold them).
      func add(_ total: Int64?, _ m: Int64?) -> Int64? {
        guard let total, let m else { return nil }
        let (v, o) = total.addingReportingOverflow(m)
        return o ? nil : v
      }
      if k == 0, let own {
        // The main container as the VPA sized it.
        cpu = add(cpu, own.cpu)
        let (milli, o) = own.memory.multipliedReportingOverflow(by: 1000)
        memory = add(memory, o ? nil : milli)
        continue
      }
      cpu = add(cpu, c.requests[ResourceName.cpu].flatMap { try? $0.milliValue() })
      memory = add(memory, c.requests[ResourceName.memory].flatMap { try? $0.milliValue() })
    }
    return (cpu, memory)
  }

  /// What is wrong with the HPAs' pod lists, if anything: each must hold exactly the pods not
  /// gone whose labels its target's selector matches in its namespace (the first such HPA's).
  func violation() -> String? {
    let pods = sim.cluster.pods
    var expected = [[UInt32]](repeating: [], count: hpas.count)
    for p in 0..<min(pods.count, sim.records.count) {
      let id = PodID(UInt32(p))
      guard !sim.isGone(id) else { continue }
      let labels = pods.labelSets[pods.labels[p]]
      for (i, h) in hpas.enumerated() where h.spec.namespace == sim.namespace(id) {
        if let sel = targetSelector(i), sel.matches(labels) {
          expected[i].append(id.rawValue)
          break
        }
      }
    }
    for (i, h) in hpas.enumerated()
    where groups.members[i].map(\.rawValue).sorted() != expected[i] {
      return
        "HPA \(h.spec.namespace)/\(h.spec.name) lists \(groups.members[i].count) pods; its selector matches \(expected[i].count)"
    }
    return nil
  }

  // MARK: Reconcile

  func unixMillis(_ t: VirtualTime) -> UnixMillis {
    UnixMillis(sim.scenario.startTime * 1000 + t.nanoseconds / 1_000_000)
  }

  func fire(_ timer: BerthEngine.Timer, _ engine: Engine) { reconcileAll() }

  /// Reconciles every HPA, in their order. Those that may (`State.runsBeside`) are first
  /// worked out on all of the simulation's threads, each from state no other reconcile of the
  /// sync writes — its own pods and target, the last scrape — so working them out ahead changes
  /// nothing; their answers (events, series, the scale write) are then applied in order with
  /// the rest, which reconcile then. The outputs are the same for any number of threads.
  func reconcileAll() {
    let threads = sim.threads
    if threads > 1 && hpas.count >= Self.besideAtLeast {
      while buffers.count < threads { buffers.append(ViewBuffer()) }
      let source = metricsSource()
      withPodRows { rows in
        ParallelLoop.run(count: hpas.count, threads: threads, chunk: Self.chunk) { i, worker in
          let h = hpas[i]
          guard h.runsBeside else { return }
          if case .answer(let a) = workOut(i, source, rows: rows, into: buffers[worker]) {
            h.ahead = a
          }
        }
      }
    }
    for i in hpas.indices { reconcile(i) }
  }

  /// One reconcile of HPA `i`: the answer worked out ahead, if any, else worked out now;
  /// then applied.
  func reconcile(_ i: Int) {
    let h = hpas[i]
    let now = unixMillis(sim.now)
    // Taken, not copied: a copy would retain everything the answer holds, and release it.
    var answer = h.ahead.take()
    if buffers.isEmpty { buffers.append(ViewBuffer()) }
    if answer != nil { reconciledAhead += 1 }
    if answer == nil {
      let source = metricsSource()
      var outcome = withPodRows { workOut(i, source, rows: $0, into: buffers[0]) }
      if case .uncachedLimits = outcome {
        limitRetries += 1
        for p in groups.members[i] { _ = sim.workloadMetrics.limits(of: p) }
        outcome = withPodRows { workOut(i, source, rows: $0, into: buffers[0]) }
      }
      if case .answer(let a) = outcome { answer = a }
    }
    guard let answer else {
      let ref = h.spec.scaleTargetRef
      let message =
        "the HPA controller was unable to get the target's current scale: \(ref.kind.lowercased())s.apps \"\(ref.name)\" not found"
      HPACondition.set(
        &h.conditions, "AbleToScale", .isFalse, "FailedGetScale", message, now: now)
      event(
        i, .warning, "FailedGetScale", "\(ref.kind.lowercased())s.apps \"\(ref.name)\" not found")
      return
    }
    apply(i, answer)
  }

  /// What working out a reconcile came to.
  private enum Outcome {
    case answer(Answer)
    /// The target does not exist.
    case noTarget
    /// A pod's limits are not cached yet; working them out would write (nothing was changed).
    case uncachedLimits
  }

  /// Works out HPA `i`'s reconcile: reads the target's scale and the pods, runs the controller
  /// (which updates the HPA's history and conditions). Writes nothing any other reconcile reads.
  private func workOut(
    _ i: Int, _ source: SimulatedMetrics, rows: PodRows, into buffer: ViewBuffer
  ) -> Outcome {
    let h = hpas[i]
    guard let scale = scale(i) else { return .noTarget }
    guard gatherViews(i, rows, into: buffer, readsUsage: h.readsUsage) else {
      return .uncachedLimits
    }
    let conditions = h.conditions
    h.conditions = []
    // The history taken out meanwhile: updating it in place in the class, the spec would be
    // copied for fear the update reaches it.
    var history = HPAHistory()
    swap(&history, &h.history)
    let result = controller.reconcile(
      h.spec, specReplicas: scale.spec, statusReplicas: scale.status, pods: buffer.views,
      metrics: source, history: &history, conditions: consume conditions,
      previousDesiredReplicas: h.desired, now: source.now)
    swap(&history, &h.history)
    h.conditions = result.conditions
    return .answer(Answer(scale: scale, result: result))
  }

  /// The metrics APIs as a sync reads them: made once, not per reconcile (each would retain
  /// the workload metrics, shared by every reconciling thread).
  private func metricsSource() -> SimulatedMetrics {
    SimulatedMetrics(sim: sim, metrics: sim.workloadMetrics, now: unixMillis(sim.now))
  }

  /// Applies a worked-out reconcile: the replicas integral, events, series, the decision
  /// chain, and the new scale.
  private func apply(_ i: Int, _ answer: borrowing Answer) {
    let h = hpas[i]
    if h.lastReconcile.nanoseconds >= 0 {
      h.replicaSeconds += Double(h.lastReplicas) * (sim.now - h.lastReconcile).seconds
    }
    h.lastReconcile = sim.now
    h.lastReplicas = answer.scale.spec
    h.desired = answer.result.desiredReplicas
    for e in answer.result.events {
      event(i, e.type == "Warning" ? .warning : .normal, e.reason, e.message)
    }
    let s = h.series
    let recorder = sim.recorder
    recorder.set(series: s, Int(answer.result.currentReplicas))
    recorder.set(series: s + 1, Int(answer.result.desiredReplicas))
    // By index: each outcome handed out whole would be copied.
    for k in answer.result.metrics.indices {
      guard let p = answer.result.metrics[k].proposal else { continue }
      if h.metricIsPercent[k] {
        recorder.set(series: s + 2 + k, Int(p.utilizationPercent ?? 0))
      } else {
        let milli = p.averageValueMilli ?? p.valueMilli ?? 0
        recorder.set(series: s + 2 + k, decimal: Double(milli) / 1000)
      }
    }
    noteDecision(i, answer.result)
    if answer.result.rescaled {
      let direction: Int8 = answer.result.desiredReplicas > answer.result.currentReplicas ? 1 : -1
      if h.lastDirection != 0 && direction != h.lastDirection {
        h.directionChanges += 1
      }
      h.lastDirection = direction
      h.scaleEvents += 1
      setScale(i, answer.result.desiredReplicas)
    }
  }

  /// The target's scale: spec and status replicas; nil when the target does not exist. The
  /// target's state is looked up again only when it was deleted, and read without retaining
  /// it (threads reconciling side by side would contend on its count).
  private func scale(_ i: Int) -> (spec: Int32, status: Int32)? {
    let h = hpas[i]
    // The lookups read the spec and the controllers only when they run.
    func ref() -> (namespace: String, name: String) {
      (h.spec.namespace, h.spec.scaleTargetRef.name)
    }
    switch h.kind {
    case 0:
      return Self.read(&h.deployment, deleted: \.deleted) {
        let c = sim.deployments!
        return c.find(namespace: ref().namespace, name: ref().name).map { c.deployments[$0] }
      } scale: {
        (Int32(clamping: $0.object.replicas), Int32(clamping: $0.replicas))
      }
    case 1:
      return Self.read(&h.statefulSet, deleted: \.deleted) {
        let c = sim.statefulSets!
        return c.find(namespace: ref().namespace, name: ref().name).map { c.sets[$0] }
      } scale: {
        (Int32(clamping: $0.object.replicas), Int32(clamping: $0.status.replicas))
      }
    case 2:
      return Self.read(&h.replicaSet, deleted: \.deleted) {
        let c = sim.replicaSets!
        return c.find(namespace: ref().namespace, name: ref().name).map { c.sets[$0] }
      } scale: {
        (Int32(clamping: $0.replicas), Int32(clamping: $0.statusReplicas))
      }
    default:
      return nil
    }
  }

  /// A target's scale through its unretained state, found again when missing or deleted.
  @inline(__always)
  private static func read<T: AnyObject>(
    _ target: inout Unmanaged<T>?, deleted: (T) -> Bool, find: () -> T?,
    scale: (T) -> (spec: Int32, status: Int32)
  ) -> (spec: Int32, status: Int32)? {
    // SAFETY: the controllers keep every state they made for the simulation's lifetime.
    if target?._withUnsafeGuaranteedRef(deleted) ?? true {
      target = find().map { .passUnretained($0) }
    }
    return target?._withUnsafeGuaranteedRef(scale)
  }

  /// Writes the target's `spec.replicas` (its document too, so a later patch keeps it).
  private func setScale(_ i: Int, _ n: Int32) {
    let spec = hpas[i].spec
    sim.setTargetScale(
      kind: spec.scaleTargetRef.kind, namespace: spec.namespace, name: spec.scaleTargetRef.name,
      replicas: n)
  }

  /// Follows the load step → decision part of the scale-up chain: when the metrics first asked
  /// for more replicas (their scrape; now for metrics read at the reconcile), and the scale-ups
  /// whose pods the target is to create.
  private func noteDecision(_ i: Int, _ result: HPAReconcile) {
    let now = sim.now
    // Pods a scale-up asked for are created within the sync period, or not by it.
    let period = VirtualTime(nanoseconds: controller.flags.syncPeriodMillis * 1_000_000)
    if !hpas[i].credits.isEmpty { hpas[i].credits.removeAll { now - $0.decided >= period } }
    let current = result.currentReplicas
    guard let wanted = result.proposal, wanted > current else {
      hpas[i].wantedMoreSince = nil
      return
    }
    if hpas[i].wantedMoreSince == nil {
      let scrape = sim.workloadMetrics.scrapeTime
      hpas[i].wantedMoreSince =
        hpas[i].readsUsage && scrape.nanoseconds >= 0 && scrape <= now ? scrape : now
    }
    guard result.rescaled, result.desiredReplicas > current else { return }
    hpas[i].credits.append(
      (now, hpas[i].wantedMoreSince ?? now, result.desiredReplicas - current))
    // Met in full: the next wish for more is a new step.
    if wanted <= result.desiredReplicas { hpas[i].wantedMoreSince = nil }
  }

  private func event(_ i: Int, _ type: EventType, _ reason: String, _ message: String) {
    sim.recorder.event(
      kind: "HorizontalPodAutoscaler", namespace: hpas[i].spec.namespace,
      name: hpas[i].spec.name, type: type, reason: reason, message: message)
  }

  /// How many pods ahead `gatherViews` fetches rows.
  private static let lookahead = 4

  /// What a reconcile reads of the pods, as pointers taken once per sync: reading the
  /// simulation's arrays and columns per pod would retain and release their owners around every
  /// read — atomic operations that keep the rows' cache misses from overlapping, and that
  /// threads reconciling side by side would contend on.
  struct PodRows {
    let records: UnsafePointer<PodRecord>
    let recordCount: Int
    let requests: UnsafePointer<(cpu: Int64?, memory: Int64?)>
    let requestCount: Int
    let members: UnsafePointer<[PodID]>
    let scheduledAt: UnsafeMutablePointer<Int64>
    let readyAt: UnsafeMutablePointer<Int64>
    let conditions: UnsafeMutablePointer<UInt8>
    let phase: UnsafeMutablePointer<UInt8>
    let deletionDueAt: UnsafeMutablePointer<Int64>
    let deletedAt: UnsafeMutablePointer<Int64>
    let samples: WorkloadMetrics.SampleReader
  }

  /// Calls `body` with the pod rows, valid while it runs: it must create and change no pod.
  private func withPodRows<R>(_ body: (PodRows) -> R) -> R {
    let pods = sim.workloadMetrics.podTable
    // SAFETY: no array or column is resized or written while `body` runs (reconciles read
    // pods; what they write waits for `apply`); no pointer escapes.
    return sim.workloadMetrics.withSampleReader { samples in
      requests.withUnsafeBufferPointer { requests in
        sim.records.withUnsafeBufferPointer { records in
          groups.members.withUnsafeBufferPointer { members in
            body(
              PodRows(
                records: records.baseAddress!, recordCount: records.count,
                requests: requests.baseAddress ?? UnsafePointer(bitPattern: 16)!,
                requestCount: requests.count, members: members.baseAddress!,
                scheduledAt: pods.scheduledAt.base, readyAt: pods.readyAt.base,
                conditions: pods.conditions.base, phase: pods.phase.base,
                deletionDueAt: pods.deletionDueAt.base, deletedAt: pods.deletedAt.base,
                samples: samples))
          }
        }
      }
    }
  }

  /// Fills `buffer` with HPA `i`'s pods. One pass over their scattered rows gathers everything
  /// the reconcile reads of them, their usage samples included (a second pass would fetch the
  /// same rows again); the rows of the pods a few places ahead are fetched meanwhile.
  /// It only reads: false when a pod's limits are not cached yet.
  private func gatherViews(_ i: Int, _ rows: PodRows, into buffer: ViewBuffer, readsUsage: Bool)
    -> Bool
  {
    var views: [SimulatedPod] = []
    swap(&views, &buffer.views)
    defer { swap(&views, &buffer.views) }
    views.removeAll(keepingCapacity: true)
    let epochMillis = sim.scenario.startTime * 1000
    func millis(_ nanoseconds: Int64) -> UnixMillis {
      UnixMillis(epochMillis + nanoseconds / 1_000_000)
    }
    let samples = rows.samples
    // SAFETY: every member is a pod row, below the records' and the columns' counts.
    let members = rows.members[i]
    // Each pod's rows sit in their own cache line of each column: waiting for them one by
    // one is most of the cost.
    func fetch(_ a: Int) {
      // SAFETY: a prefetch is a hint: `a` is a member's row, and no address is read here.
      berth_prefetch(rows.records + a)
      berth_prefetch(rows.scheduledAt + a)
      berth_prefetch(rows.conditions + a)
      berth_prefetch(rows.readyAt + a)
      berth_prefetch(rows.phase + a)
      berth_prefetch(rows.deletionDueAt + a)
      berth_prefetch(rows.deletedAt + a)
      if a < rows.requestCount { berth_prefetch(rows.requests + a) }
      if readsUsage && a < samples.limitCount { berth_prefetch(samples.limits + a) }
    }
    for p in members.prefix(Self.lookahead) { fetch(p.index) }
    for (k, p) in members.enumerated() {
      let r = p.index
      if k + Self.lookahead < members.count { fetch(members[k + Self.lookahead].index) }
      assert(r < rows.recordCount && r < rows.requestCount, "a member beyond the pod rows")
      let record = rows.records + r
      var sample: (cpuMilli: Int64, memoryBytes: Int64)?
      if readsUsage {
        // Working limits out caches them, a write: left to the caller.
        if record.pointee.usage >= 0 && !samples.limitsCached(r) { return false }
        sample = samples.sample(p, record: record)
      }
      var readyStatus: ConditionStatus?
      var transition = UnixMillis.goZero
      let scheduled = rows.scheduledAt[r]
      if scheduled != PodTable.never {
        // The kubelet posts a Ready condition (False) once it has the pod.
        if rows.conditions[r] & PodConditions.ready.rawValue != 0 {
          readyStatus = .isTrue
          transition = millis(rows.readyAt[r])
        } else {
          readyStatus = .isFalse
          let notReady = record.pointee.notReadyAt
          transition = millis(notReady != PodTable.never ? notReady : scheduled)
        }
      }
      let deleting = rows.deletionDueAt[r] != PodTable.never && rows.deletedAt[r] == PodTable.never
      views.append(
        SimulatedPod(
          pod: p, simulation: simulation, phase: PodPhase(code: rows.phase[r]),
          isDeleting: deleting,
          startTime: scheduled == PodTable.never ? nil : millis(scheduled),
          readyStatus: readyStatus, readyTransition: transition, cpu: rows.requests[r].cpu,
          memory: rows.requests[r].memory, sample: sample))
    }
    return true
  }

  /// The controller's history of HPA `i`, as `berth hpa explain --history` reads it.
  func historyYAML(_ i: Int) -> String {
    HPAInputs.historyYAML(
      hpas[i].history, namespace: hpas[i].spec.namespace, name: hpas[i].spec.name)
  }
}

/// A simulated pod as the replica calculator reads it.
struct SimulatedPod: HPAPodView {
  let pod: PodID
  /// Unretained: the simulation outlives every reconcile, the only place these views live.
  let simulation: Unmanaged<Simulation>
  var sim: Simulation { simulation.takeUnretainedValue() }
  let phase: PodPhase
  let isDeleting: Bool
  let startTime: UnixMillis?
  let readyStatus: ConditionStatus?
  let readyTransition: UnixMillis
  let cpu: Int64?
  let memory: Int64?
  /// Its usage at the last scrape (nil: no PodMetrics), when a metric of the HPA reads it.
  let sample: (cpuMilli: Int64, memoryBytes: Int64)?

  var podName: String { sim.name(pod) }

  func request(resource: String, container: String?) throws(HPAMetricError) -> Int64 {
    if container == nil {
      if resource == ResourceName.cpu, let cpu { return cpu }
      if resource == ResourceName.memory, let memory { return memory }
    }
    let spec = sim.podSpec(pod)
    let own = sim.verticalAutoscaling.resources(of: pod)
    var sum: Int64 = 0
    for (k, c) in (spec.containers + spec.initContainers.filter(\.restartPolicyAlways)).enumerated()
    where container == nil || c.name == container {
      if k == 0, let own, resource == ResourceName.cpu || resource == ResourceName.memory {
        let (milli, o) =
          resource == ResourceName.cpu
          ? (own.cpu, false) : own.memory.multipliedReportingOverflow(by: 1000)
        let (total, o2) = sum.addingReportingOverflow(milli)
        guard !o, !o2 else {
          throw HPAMetricError("the request for \(resource) in Pod \(podName) is out of range")
        }
        sum = total
        if container != nil { return sum }
        continue
      }
      guard let q = c.requests[resource], let m = try? q.milliValue() else {
        throw HPAMetricError(
          "missing request for \(resource) in container \(c.name) of Pod \(podName)")
      }
      let (total, o) = sum.addingReportingOverflow(m)
      guard !o else {
        throw HPAMetricError("the request for \(resource) in Pod \(podName) is out of range")
      }
      sum = total
      if container != nil { return sum }
    }
    if let container { throw HPAMetricError("container \(container) not found in Pod \(podName)") }
    return sum
  }
}

/// The metrics APIs of the simulated cluster.
struct SimulatedMetrics: HPAMetricsSource {
  // SAFETY: the simulation outlives every reconcile, the only place this source lives.
  unowned(unsafe) let sim: Simulation
  unowned(unsafe) let metrics: WorkloadMetrics
  let now: UnixMillis

  var scrape: UnixMillis {
    UnixMillis(sim.scenario.startTime * 1000 + metrics.scrapeTime.nanoseconds / 1_000_000)
  }

  func podResourceMetrics() throws(HPAMetricError) -> [PodResourceMetrics] { [] }

  func resourceSamples<P: HPAPodView>(resource: String, container: String?, pods: [P])
    throws(HPAMetricError) -> (samples: PodMetricSet, timestamp: UnixMillis)?
  {
    var byPod: [PodMetricSample?] = []
    byPod.reserveCapacity(pods.count)
    var any = false
    let window = metrics.resolution.nanoseconds / 1_000_000
    let at = scrape
    // The resource decided once, not compared per pod.
    let isCPU = resource == ResourceName.cpu
    guard isCPU || resource == ResourceName.memory else { return nil }
    for view in pods {
      guard let p = view as? SimulatedPod, let u = p.sample else {
        byPod.append(nil)
        continue
      }
      var value =
        isCPU ? u.cpuMilli : u.memoryBytes.multipliedReportingOverflow(by: 1000).partialValue
      if let container, container != sim.mainContainer(p.pod).name { value = 0 }
      byPod.append(PodMetricSample(valueMilli: value, timestamp: at, windowMillis: window))
      any = true
    }
    guard any else { return nil }
    return (PodMetricSet(byPod: byPod), at)
  }

  private func load(_ name: String) -> Int? {
    sim.scenario.loads.firstIndex { $0.name == name }
  }

  func podsMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    samples: [(podName: String, sample: PodMetricSample)], timestamp: UnixMillis
  ) {
    guard let l = load(metric.name) else {
      throw HPAMetricError("no metrics returned from custom metrics API")
    }
    try available(l)
    // The pods of the usage entries sharing this load: each its share.
    var out: [(podName: String, sample: PodMetricSample)] = []
    for p in 0..<sim.cluster.pods.count {
      let id = PodID(UInt32(p))
      let entry = Int(sim.records[p].usage)
      guard entry >= 0, sim.scenario.usage[entry].load == load(metric.name),
        metrics.sample(id) != nil
      else { continue }
      let share = sim.isReady(id) ? metrics.shareAtScrape[entry] : 0
      out.append(
        (
          sim.name(id),
          PodMetricSample(valueMilli: Int64((share * 1000).rounded()), timestamp: scrape)
        ))
    }
    guard !out.isEmpty else { throw HPAMetricError("no metrics returned from custom metrics API") }
    return (out, scrape)
  }

  func objectMetric(_ object: ObjectRef, _ metric: HPAMetricIdentifier) throws(HPAMetricError)
    -> (valueMilli: Int64, timestamp: UnixMillis)
  {
    guard let i = load(metric.name) else {
      throw HPAMetricError("no metrics returned from custom metrics API")
    }
    try available(i)
    return (Int64((metrics.loadValue(i) * 1000).rounded()), now)
  }

  func externalMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    seriesMilli: [Int64], timestamp: UnixMillis
  ) {
    // KEDA's metrics adapter: `s<i>-<type>` of the ScaledObject the selector names.
    if let so = metric.selector?["scaledobject.keda.sh/name"],
      let o = sim.scenario.scaledObjects.first(where: { $0.name == so }),
      metric.name.hasPrefix("s"), let dash = metric.name.firstIndex(of: "-"),
      let t = Int(metric.name[metric.name.index(after: metric.name.startIndex)..<dash]),
      t < o.triggers.count, let i = load(o.triggers[t].source)
    {
      let down = sim.scenario.loads[i].isOut(at: sim.now.nanoseconds)
      if let value = sim.keda.metricRead(scaledObject: so, trigger: t, failed: down) {
        return ([value], now)
      }
      if down { throw Self.outage(o.triggers[t].source) }
      return ([Int64((metrics.loadValue(i) * 1000).rounded())], now)
    }
    guard let i = load(metric.name) else {
      throw HPAMetricError("no metrics returned from external metrics API")
    }
    try available(i)
    return ([Int64((metrics.loadValue(i) * 1000).rounded())], now)
  }

  /// Throws while load `i`'s metric source is down (`spec.loads[].outages`).
  private func available(_ i: Int) throws(HPAMetricError) {
    if sim.scenario.loads[i].isOut(at: sim.now.nanoseconds) {
      throw Self.outage(sim.scenario.loads[i].name)
    }
  }

  static func outage(_ load: String) -> HPAMetricError {
    HPAMetricError("the metric source of \(load) did not answer (an outage)")
  }
}
