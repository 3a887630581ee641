import BerthCore
import BerthEngine
import BerthScheduling
import BerthTraces
import BerthWorkloads
import Foundation

/// Who owns a pod.
enum OwnerKind: UInt8 {
  case none, replicaSet, job, daemonSet, statefulSet
}

/// What the simulation knows of a pod beyond the pod table: its owner, template and behaviour,
/// and the kubelet's state for it.
struct PodRecord {
  // The fields every HPA reconcile and metrics read come first, within one cache line.
  /// Index into the scenario's usage entries; -1: none matches.
  var usage: Int16 = -1
  var running = false
  /// When its Ready condition last turned False (the condition's lastTransitionTime while not
  /// Ready); at binding, the kubelet's first status says not Ready.
  var notReadyAt = PodTable.never
  /// When its main container last started (the first start, or the last restart).
  var containerStartedAt = PodTable.never
  var ownerKind = OwnerKind.none
  var owner: Int32 = -1
  var uid: UInt64 = 0
  /// Index into `Simulation.templates`; -1 for a bare pod.
  var template: Int32 = -1
  /// Index into the scenario's behaviours; -1: none matched.
  var behavior: Int32 = -1
  /// The node it was bound to (kept after it ends, for the record); -1: never bound.
  var node: Int32 = -1
  /// Bumped whenever the kubelet's pending steps for the pod are void (restart, deletion,
  /// node failure): a timer carrying an older generation is ignored. Kept, and bumped again,
  /// when the row goes to a new pod, so no timer of the row's earlier pods reaches it.
  var generation: UInt32 = 0
  /// Its place in the order pods were created (rows are reused, so row order is not that).
  var serial: UInt32 = 0
  /// Its owner stamps new pods out of its row (`ReplicaSetState.prototype`): the row is not
  /// reused while that lasts.
  var isPrototype = false
  var backOff = ContainerBackOff()
  /// When it first turned Ready.
  var firstReady = PodTable.never
  /// Its last container exit was an OOM kill (its last state's reason is OOMKilled).
  var oomKilled = false
  /// How long its main container ran before its last exit (lastState's finishedAt −
  /// startedAt), ns; -1 before any exit.
  var lastRunNanos: Int64 = -1
  /// The container's planned readiness (ns after its start), drawn once per start.
  var completionIndex: Int32 = -1
  /// Its end was counted by its owner (a Job counts each finished pod once).
  var counted = false
  var exitCode: Int32 = 0
  /// Ready was taken away by the node lifecycle controller (the node stopped reporting).
  var markedNotReady = false
  /// How its owner last counted it (`OwnerView` bits).
  var ownerView: UInt8 = 0
  /// The scheduler profile its `schedulerName` names; -1: another scheduler's (it stays
  /// Pending, as kube-scheduler leaves such pods alone).
  var profile: Int8 = 0
  /// A daemon pod's node (its node affinity's), -1 for others.
  var targetNode: Int32 = -1
  /// Deleted by an eviction (the taint manager, a drain): its DisruptionTarget condition.
  var disrupted = false
  /// The container was killed by a failing startup or liveness probe: it exits with 137.
  var killedByProbe = false
  /// The container was stopped for an in-place resize (resizePolicy RestartContainer): it
  /// starts again at once, without the crash back-off.
  var restartingForResize = false
  /// The main container is Ready (the pod is, unless a sidecar is down or the node is
  /// unreachable).
  var mainReady = false
  /// The first sidecar (restartable init container) exited and waits to restart.
  var sidecarDown = false
  var sidecarBackOff = ContainerBackOff()
  /// As `generation`, for the sidecar's steps: the main container's restarts leave them be.
  var sidecarGeneration: UInt32 = 0
}

/// How an owner counts one of its pods, kept as the pod changes (`Simulation.viewChange`).
enum OwnerView {
  /// Neither finished nor being deleted.
  static let active: UInt8 = 1
  /// Active and Ready.
  static let ready: UInt8 = 2
  /// The pod object is gone.
  static let gone: UInt8 = 4
}

/// A cluster in virtual time: the scheduler and the controllers, kubelets and node lifecycle
/// around it, driven by one `Engine` from a `Scenario`.
///
/// The simulation plays the API server's part: controllers and actions create and delete pods
/// through it, it keeps what the pod table has no column for (owners, templates), announces
/// pod changes to the owning controller, and records events and status fields for the outputs.
public final class Simulation {
  public let scenario: Scenario
  /// The scenario's bare pods, by row (they are the cluster's first rows).
  let barePods: [PodSpec]
  public let seed: UInt64
  public let cluster: Cluster
  public let engine: Engine
  /// The profiles' indices by scheduler name.
  private let profileByName: [String: Int8]
  /// The kube-scheduler (its profiles) and its queue, a component of the engine.
  @exclusivity(unchecked) public private(set) var scheduling: SchedulingRun!
  @exclusivity(unchecked) public private(set) var queue: QueueRun!
  public let recorder: Recorder
  var settings: SimulationSettings { scenario.settings }

  @exclusivity(unchecked) var kubelet: Kubelet!
  @exclusivity(unchecked) var replicaSets: ReplicaSetController!
  @exclusivity(unchecked) var deployments: DeploymentController!
  @exclusivity(unchecked) var jobs: JobController!
  @exclusivity(unchecked) var daemonSets: DaemonSetController!
  @exclusivity(unchecked) var statefulSets: StatefulSetController!
  @exclusivity(unchecked) var endpoints: Endpoints!
  @exclusivity(unchecked) var cronJobs: CronJobController!
  @exclusivity(unchecked) var nodes: NodeLifecycle!
  @exclusivity(unchecked) var actions: ActionRunner!
  @exclusivity(unchecked) var workloadMetrics: WorkloadMetrics!
  @exclusivity(unchecked) var horizontalAutoscaling: HorizontalAutoscaling!
  @exclusivity(unchecked) var keda: KEDAOperator!
  @exclusivity(unchecked) var verticalAutoscaling: VerticalAutoscaling!
  /// The Cluster Autoscaler, when the scenario has one.
  @exclusivity(unchecked) var clusterAutoscaling: ClusterAutoscaling?
  /// Karpenter, when the scenario has NodePools.
  @exclusivity(unchecked) var karpenter: KarpenterProvisioning?

  @exclusivity(unchecked) var records: [PodRecord] = []
  /// Per node row, the pod records naming it (`PodRecord.node`) whose rows are not released:
  /// a removed node's row is taken by a new node only when none does, so every report names
  /// the node a pod was on.
  @exclusivity(unchecked) private var nodeReferences: [Int32] = []
  /// Matcher ids registered when idle matchers were last collected, and how many lived on.
  @exclusivity(unchecked) private var matchersAtCollection = (registered: 0, live: 0)
  /// New matchers that trigger a collection at least (0: never collect; tests compare).
  @exclusivity(unchecked) public var matcherCollectionFloor = 64
  /// Threads the run may use (the HPA controller works out its reconciles on all of them);
  /// the outputs are the same for any count. Default: the machine's cores.
  public var threads = ProcessInfo.processInfo.activeProcessorCount
  /// Pods gone since their rows were last released (`releaseRows`).
  @exclusivity(unchecked) private var goneRows: [PodID] = []
  @exclusivity(unchecked) var templates: [PodTemplate] = []
  /// Per template, an id of its identity (`PodTemplate.identity`): equal ids, equal templates.
  @exclusivity(unchecked) var templateIdentity: [Int32] = []
  /// Lookups only.
  @exclusivity(unchecked) private var identityIDs: [String: Int32] = [:]
  @exclusivity(unchecked) private var uids: SplitMix64

  /// - Parameters:
  ///   - seed: overrides the scenario's (default 1).
  ///   - keepsOutputs: whether the outputs' text (event lines, time-series rows, the report's
  ///     points) is kept; a run that writes no outputs need not hold millions of lines.
  ///   - profiles: the scheduler's profiles (a KubeSchedulerConfiguration's); each pod goes to
  ///     the one its `schedulerName` names.
  public init(
    scenario: Scenario, seed: UInt64? = nil, keepsOutputs: Bool = true,
    profiles: [Profile] = [.default]
  ) throws(InputError) {
    precondition(!profiles.isEmpty && profiles.count < 128, "1…127 scheduler profiles")
    var byName: [String: Int8] = [:]
    for (i, p) in profiles.enumerated() { byName[p.schedulerName] = Int8(i) }
    profileByName = byName
    self.scenario = scenario
    let seed = seed ?? scenario.seed ?? 1
    self.seed = seed
    let root = SplitMix64(seed: seed)
    uids = root.split(label: "uids")
    let cluster = try scenario.manifest.makeCluster(file: scenario.file)
    self.cluster = cluster
    barePods = scenario.manifest.pods
    engine = Engine(cluster: cluster)
    recorder = Recorder(startTime: scenario.startTime)
    recorder.keepsOutputs = keepsOutputs
    recorder.attach(self)
    endpoints = Endpoints(self, services: scenario.manifest.services)
    // Order matters only within an instant: actions first, then the controllers, the
    // scheduler, the kubelets.
    actions = ActionRunner(self)
    nodes = NodeLifecycle(self)
    cronJobs = CronJobController(self, rng: root.split(label: "cronjobs"))
    deployments = DeploymentController(self, rng: root.split(label: "deployments"))
    replicaSets = ReplicaSetController(self, rng: root.split(label: "replicasets"))
    jobs = JobController(self, rng: root.split(label: "jobs"))
    daemonSets = DaemonSetController(self, rng: root.split(label: "daemonsets"))
    statefulSets = StatefulSetController(self, rng: root.split(label: "statefulsets"))
    workloadMetrics = WorkloadMetrics(self, root: root)
    horizontalAutoscaling = HorizontalAutoscaling(self)
    keda = KEDAOperator(self)
    verticalAutoscaling = VerticalAutoscaling(self)
    for c in [
      actions, nodes, workloadMetrics, keda, horizontalAutoscaling, verticalAutoscaling, cronJobs,
      deployments, replicaSets,
      statefulSets, daemonSets, jobs,
    ] as [Component] {
      engine.add(c)
    }
    scheduling = SchedulingRun(
      cluster: cluster, profiles: profiles, seed: seed,
      profileOf: { [unowned self] in Int(self.records[$0.index].profile) },
      mode: .queued(QueueSettings(), seed: seed, engine: engine))
    queue = scheduling.queue
    kubelet = Kubelet(self, rng: root.split(label: "kubelet"))
    engine.add(kubelet)
    engine.add(recorder)
    scheduling.onCycle = { [unowned self] pod, outcome, _, _ in
      if outcome.node == nil { self.failedScheduling(pod) }
    }
    if let ca = scenario.clusterAutoscaler {
      // After the scheduler and the kubelets: its loop sees what they made of the instant.
      let c = ClusterAutoscaling(self, config: ca, root: root)
      clusterAutoscaling = c
      engine.add(c)
    }
    if let k = scenario.karpenter {
      let c = KarpenterProvisioning(self, config: k, root: root)
      karpenter = c
      engine.add(c)
    }
    queue.deleteVictim = { [unowned self] victim, preemptor, node in
      self.preempted(victim, by: preemptor, on: node)
    }
    engine.afterSettle = { [unowned self] in self.releaseRows() }
    for p in 0..<cluster.pods.count { adoptBarePod(PodID(UInt32(p))) }
    for w in scenario.workloads {
      if let message = priorityClassProblem(w) {
        throw InputError(file: scenario.file, "\(w.reference): \(message)")
      }
      apply(w)
    }
  }

  public var now: VirtualTime { engine.now }

  // MARK: Pods

  func record(_ pod: PodID) -> PodRecord { records[pod.index] }

  /// A new pod's record: a fresh one, or for a reused row one whose generation moves on.
  private func ensureRecord(_ pod: PodID) {
    let serial = UInt32(truncatingIfNeeded: cluster.pods.added - 1)
    if pod.index < records.count {
      var r = PodRecord()
      r.uid = uids.next()
      r.serial = serial
      r.generation = records[pod.index].generation &+ 1
      r.sidecarGeneration = records[pod.index].sidecarGeneration &+ 1
      records[pod.index] = r
      return
    }
    while records.count <= pod.index {
      var r = PodRecord()
      r.uid = uids.next()
      r.serial = UInt32(records.count)
      records.append(r)
    }
  }

  /// A timer payload naming the pod itself, not its row: `pod(fromHandle:)` gives nil once
  /// the pod is gone, whoever holds its row by then. (The kubelet's steps carry the record's
  /// generation instead, which a restart also voids.)
  func handle(_ pod: PodID) -> UInt64 {
    UInt64(pod.rawValue) | UInt64(records[pod.index].serial) << 32
  }

  func pod(fromHandle payload: UInt64) -> PodID? {
    let pod = PodID(UInt32(truncatingIfNeeded: payload))
    guard records[pod.index].serial == UInt32(truncatingIfNeeded: payload >> 32), !isGone(pod)
    else { return nil }
    return pod
  }

  /// Whether the pod is an owner's prototype (`PodRecord.isPrototype`); a prototype that is
  /// gone and no longer one can now give up its row.
  func setPrototype(_ pod: PodID, _ on: Bool) {
    guard records[pod.index].isPrototype != on else { return }
    records[pod.index].isPrototype = on
    if !on && isGone(pod) { goneRows.append(pod) }
  }

  /// Releases the rows of pods that are gone, once the instant settled: every owner has
  /// dropped them from its lists by then (each syncs when a pod of its own goes), the kubelet's
  /// and the node lifecycle's timers carry generations, and the scheduling queue says when it
  /// still holds a deleted pod's key. Prototypes keep their rows (`setPrototype`); the pods the
  /// scenario wrote never give theirs up. Each row released writes its pod's `pods.csv` row.
  func releaseRows() {
    var kept = 0
    for pod in goneRows where !records[pod.index].isPrototype {
      if queue.refersTo(deleted: pod) {
        goneRows[kept] = pod
        kept += 1
        continue
      }
      recorder.podReleased(pod)
      let node = Int(records[pod.index].node)
      if node >= 0 { nodeReferences[node] -= 1 }
      cluster.releasePod(pod)
    }
    goneRows.removeLast(goneRows.count - kept)
    cluster.releaseRemovedNodeRows {
      self.nodeReferences.count <= $0 || self.nodeReferences[$0] == 0
    }
    collectIdleMatchers()
  }

  /// Frees the matchers no bound pod matches (each rollout's new ReplicaSet registers one, about
  /// 60 KB at 5,000 nodes) once as many new ones were registered as lived on after the last
  /// collection: amortised O(1) per matcher, and memory stays proportional to live workloads.
  private func collectIdleMatchers() {
    let registered = cluster.matchers.count
    guard matcherCollectionFloor > 0,
      registered - matchersAtCollection.registered
        >= max(matchersAtCollection.live, matcherCollectionFloor)
    else { return }
    cluster.collectIdleMatchers()
    matchersAtCollection = (registered, cluster.liveMatcherCount)
  }

  /// A pod record names node row `row` (the kubelet saw the pod bound there).
  func referNode(_ row: Int) {
    while nodeReferences.count <= row { nodeReferences.append(0) }
    nodeReferences[row] += 1
  }

  /// A pod written in the scenario: it arrives at time 0 (or at its creation timestamp's
  /// offset), owned by nobody.
  private func adoptBarePod(_ pod: PodID) {
    ensureRecord(pod)
    records[pod.index].behavior = behavior(for: pod)
    records[pod.index].profile = profileByName[barePods[pod.index].schedulerName] ?? -1
    if records[pod.index].profile >= 0 { queue.submit(pod, at: .zero) }
    recorder.podCreated(pod)
    verticalAutoscaling.podCreated(pod, admitted: nil)
    podCreatedForAutoscaling(pod)
  }

  /// Creates a pod from a template for an owner; it enters the scheduling queue now.
  @discardableResult
  func createPod(
    _ spec: PodSpec, template: Int32, ownerKind: OwnerKind, owner: Int32,
    completionIndex: Int32 = -1
  ) -> PodID {
    var spec = spec
    let admitted = verticalAutoscaling.admit(&spec)
    let pod: PodID
    do throws(QuantityError) {
      pod = try cluster.addPod(spec)
    } catch {
      // Templates were read and their requests checked once; a pod of one always fits.
      preconditionFailure("a template's pod does not fit the scheduler's units: \(error)")
    }
    ensureRecord(pod)
    records[pod.index].ownerKind = ownerKind
    records[pod.index].owner = owner
    records[pod.index].template = template
    records[pod.index].completionIndex = completionIndex
    records[pod.index].behavior = behavior(for: pod)
    records[pod.index].profile = profileByName[spec.schedulerName] ?? -1
    if records[pod.index].profile >= 0 { queue.arriveNow(pod) }
    recorder.podCreated(pod)
    verticalAutoscaling.podCreated(pod, admitted: admitted)
    podCreatedForAutoscaling(pod)
    return pod
  }

  /// Creates a pod identical to an earlier one of the same owner and template but for its
  /// name (`Cluster.addPod(copying:name:)`); it enters the scheduling queue now.
  func createPod(copying prototype: PodID, name: String) -> PodID {
    let pod = cluster.addPod(copying: prototype, name: name)
    ensureRecord(pod)
    let p = records[prototype.index]
    records[pod.index].ownerKind = p.ownerKind
    records[pod.index].owner = p.owner
    records[pod.index].template = p.template
    records[pod.index].completionIndex = p.completionIndex
    records[pod.index].behavior = p.behavior
    records[pod.index].profile = p.profile
    if p.profile >= 0 { queue.arriveNow(pod) }
    recorder.podCreated(pod)
    verticalAutoscaling.podCreated(pod, admitted: nil, copying: prototype)
    podCreatedForAutoscaling(pod)
    return pod
  }

  /// The usage model and the HPAs learn of a new pod.
  private func podCreatedForAutoscaling(_ pod: PodID) {
    workloadMetrics.podCreated(pod)
    horizontalAutoscaling.podCreated(pod)
  }

  /// The first behaviour matching the pod's labels and namespace.
  private func behavior(for pod: PodID) -> Int32 {
    let labels = cluster.pods.labelSets[cluster.pods.labels[pod.index]]
    let namespace = cluster.pods.namespaces[cluster.pods.namespace[pod.index]]
    for (i, b) in scenario.behaviors.enumerated()
    where (b.namespace == nil || b.namespace == namespace) && b.selector.matches(labels) {
      return Int32(i)
    }
    return -1
  }

  func behavior(of pod: PodID) -> Behavior {
    let b = records[pod.index].behavior
    return b >= 0 ? scenario.behaviors[Int(b)] : .none
  }

  func template(of pod: PodID) -> PodTemplate? {
    let t = records[pod.index].template
    return t >= 0 ? templates[Int(t)] : nil
  }

  func restartPolicy(of pod: PodID) -> RestartPolicy {
    let t = records[pod.index].template
    return t >= 0 ? templates[Int(t)].restartPolicy : .always
  }

  func readinessProbe(of pod: PodID) -> Probe? {
    let t = records[pod.index].template
    return t >= 0 ? templates[Int(t)].readinessProbe : nil
  }

  /// The main container's preStop hook (`PodTemplate.preStopSeconds`), nil for none.
  func preStopSeconds(of pod: PodID) -> Int64? {
    let t = records[pod.index].template
    return t >= 0 ? templates[Int(t)].preStopSeconds : nil
  }

  /// The template's startup and liveness probes.
  func healthProbes(of pod: PodID) -> (startup: Probe?, liveness: Probe?) {
    let t = records[pod.index].template
    guard t >= 0 else { return (nil, nil) }
    return (templates[Int(t)].startupProbe, templates[Int(t)].livenessProbe)
  }

  /// The first container's name and image (what events name).
  /// The spec a pod was made from: its template's, or its own for a bare pod.
  func podSpec(_ pod: PodID) -> PodSpec {
    let t = records[pod.index].template
    return t >= 0 ? templates[Int(t)].pod : barePods[pod.index]
  }

  /// What node autoscalers read before draining the pod (its spec's, without copying the spec).
  func drainFacts(_ pod: PodID) -> DrainFacts {
    let t = records[pod.index].template
    return t >= 0 ? templates[Int(t)].pod.drain : barePods[pod.index].drain
  }

  func mainContainer(_ pod: PodID) -> (name: String, image: String) {
    let t = records[pod.index].template
    if t >= 0 {
      guard let c = templates[Int(t)].pod.containers.first else { return ("", "") }
      return (c.name, c.image)
    }
    guard pod.index < barePods.count, let c = barePods[pod.index].containers.first else {
      return ("", "")
    }
    return (c.name, c.image)
  }

  /// The pod's init containers: those that run to completion, in order, and the sidecars
  /// (`restartPolicy: Always`), which start in their turn and run beside the main container.
  func initContainers(_ pod: PodID) -> (regular: Int, sidecars: [String]) {
    let t = records[pod.index].template
    let list =
      t >= 0
      ? templates[Int(t)].pod.initContainers
      : pod.index < barePods.count ? barePods[pod.index].initContainers : []
    let sidecars = list.filter(\.restartPolicyAlways).map(\.name)
    return (list.count - sidecars.count, sidecars)
  }

  /// The owner's kind and name ("" for a bare pod).
  func ownerName(_ pod: PodID) -> (kind: String, name: String) {
    let r = records[pod.index]
    switch r.ownerKind {
    case .replicaSet: return ("ReplicaSet", replicaSets.sets[Int(r.owner)].name)
    case .job: return ("Job", jobs.jobs[Int(r.owner)].object.name)
    case .daemonSet: return ("DaemonSet", daemonSets.sets[Int(r.owner)].object.name)
    case .statefulSet: return ("StatefulSet", statefulSets.sets[Int(r.owner)].object.name)
    case .none: return ("", "")
    }
  }

  func name(_ pod: PodID) -> String { cluster.pods.name(pod) }
  func namespace(_ pod: PodID) -> String {
    cluster.pods.namespaces[cluster.pods.namespace[pod.index]]
  }

  /// Whether the pod still counts for its owner: not finished, not being deleted, not gone.
  func isActive(_ pod: PodID) -> Bool {
    let pods = cluster.pods
    return !pods.phase(of: pod).isFinished && pods.deletionDueAt[pod.index] == PodTable.never
  }

  func isReady(_ pod: PodID) -> Bool {
    cluster.pods.conditions[pod.index] & PodConditions.ready.rawValue != 0
  }

  func isGone(_ pod: PodID) -> Bool { cluster.pods.deletedAt[pod.index] != PodTable.never }

  /// Deletes a pod gracefully (`kubectl delete pod`, a controller scaling down, an eviction):
  /// a pod not yet running is gone at once; a running one is terminating until its container
  /// stops (its `stopAfter`, at most the grace period).
  func deletePod(_ pod: PodID) {
    let pods = cluster.pods
    guard !isGone(pod), pods.deletionDueAt[pod.index] == PodTable.never else { return }
    let grace = VirtualTime.seconds(pods.constraints(of: pod).terminationGracePeriodSeconds)
    pods.set(pods.deletionDueAt, of: pod, to: now + grace)
    recorder.podPhaseMayChange(pod)
    if !pods.isBound(pod) || pods.phase(of: pod).isFinished {
      remove(pod)
    } else {
      kubelet.terminate(pod, grace: grace)
    }
    notifyOwner(pod)
  }

  /// The pod object is gone: its node is free, its owner forgets it.
  func remove(_ pod: PodID) {
    let pods = cluster.pods
    guard !isGone(pod) else { return }
    records[pod.index].generation &+= 1
    records[pod.index].sidecarGeneration &+= 1
    records[pod.index].running = false
    if !pods.isBound(pod) && records[pod.index].profile >= 0 { queue.deletePending(pod) }
    if pods.isBound(pod) { cluster.unbind(pod) }
    if pods.finishedAt[pod.index] == PodTable.never && pods.startedAt[pod.index] != PodTable.never {
      pods.set(pods.finishedAt, of: pod, to: now)
    }
    pods.set(pods.deletedAt, of: pod, to: now)
    pods.conditions[pod.index] &=
      ~(PodConditions.ready.rawValue | PodConditions.containersReady.rawValue)
    recorder.podRemoved(pod)
    notifyOwner(pod)
    workloadMetrics.podRemoved(pod)
    horizontalAutoscaling.podRemoved(pod)
    verticalAutoscaling.podRemoved(pod)
    if pod.index >= barePods.count && !records[pod.index].isPrototype { goneRows.append(pod) }
  }

  /// A preemption victim: deleted gracefully as the scheduler's API call does, with upstream's
  /// event and the DisruptionTarget condition; its owner replaces it.
  private func preempted(_ victim: PodID, by preemptor: PodID, on node: NodeID) {
    recorder.event(
      pod: victim, in: self, type: .normal, reason: "Preempted",
      message:
        "Preempted by pod \(Self.uidString(records[preemptor.index].uid)) on node \(cluster.nodes.name(node))"
    )
    records[victim.index].disrupted = true
    deletePod(victim)
  }

  /// A pod uid as the API prints one (a UUID's shape).
  static func uidString(_ uid: UInt64) -> String {
    var mixed = SplitMix64(seed: uid)
    let low = mixed.next()
    func hex(_ v: UInt64, _ digits: Int) -> String {
      let s = String(v, radix: 16)
      return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
    return
      "\(hex(uid >> 32, 8))-\(hex(uid >> 16 & 0xffff, 4))-\(hex(uid & 0xffff, 4))-\(hex(low >> 48, 4))-\(hex(low & 0xffff_ffff_ffff, 12))"
  }

  /// A pod's status changed: its owner reconciles.
  /// The pod's `OwnerView` now, and the bits that changed since its owner last counted it (the
  /// record takes the new view).
  func viewChange(_ pod: PodID) -> (new: UInt8, changed: UInt8) {
    let new: UInt8
    if isGone(pod) {
      new = OwnerView.gone
    } else if !isActive(pod) {
      new = 0
    } else {
      new = isReady(pod) ? OwnerView.active | OwnerView.ready : OwnerView.active
    }
    let old = records[pod.index].ownerView
    records[pod.index].ownerView = new
    return (new, old ^ new)
  }

  func notifyOwner(_ pod: PodID) {
    endpoints.podChanged(pod)
    workloadMetrics.podChanged(pod)
    let r = records[pod.index]
    switch r.ownerKind {
    case .replicaSet: replicaSets.podChanged(pod, of: Int(r.owner))
    case .job: jobs.podChanged(pod, of: Int(r.owner))
    case .daemonSet: daemonSets.podChanged(pod, of: Int(r.owner))
    case .statefulSet: statefulSets.podChanged(pod, of: Int(r.owner))
    case .none: break
    }
  }

  private func failedScheduling(_ pod: PodID) {
    // The diagnosis is a pass over the cycle's nodes: only worked out when the line is kept.
    let scheduler = queue.schedulers[queue.profile(of: pod)]
    recorder.event(
      pod: pod, in: self, type: .warning, reason: "FailedScheduling",
      message: scheduler.diagnose(pod).message)
    clusterAutoscaling?.podUnschedulable(pod)
    karpenter?.podUnschedulable(pod)
  }

  // MARK: Workloads

  /// Creates or replaces a workload object (the `apply` verb; the scenario's objects at 0).
  func apply(_ w: WorkloadObject) {
    switch w {
    case .deployment(let d): deployments.apply(d)
    case .replicaSet(let r): replicaSets.apply(r)
    case .job(let j): jobs.apply(j, owner: -1)
    case .cronJob(let c): cronJobs.apply(c)
    case .daemonSet(let d): daemonSets.apply(d)
    case .statefulSet(let s): statefulSets.apply(s)
    }
  }

  /// The controller of a workload kind (`Deployment`, `ReplicaSet`, `Job`, `CronJob`,
  /// `DaemonSet`, `StatefulSet`); nil for any other kind.
  func controller(of kind: String) -> WorkloadKind? {
    switch kind {
    case "Deployment": deployments
    case "ReplicaSet": replicaSets
    case "Job": jobs
    case "CronJob": cronJobs
    case "DaemonSet": daemonSets
    case "StatefulSet": statefulSets
    default: nil
    }
  }

  /// The id of a template identity, if a template with it was stored.
  func identityID(_ identity: String) -> Int32? { identityIDs[identity] }

  /// What the Priority admission plugin would refuse in a workload's pods: a
  /// `priorityClassName` no PriorityClass has (the pods could never be created).
  func priorityClassProblem(_ w: WorkloadObject) -> String? {
    guard let name = w.podTemplate?.pod.priorityClassName, !name.isEmpty,
      !(scenario.manifest.priorityClasses + PriorityClassSpec.builtIn).contains(where: {
        $0.name == name
      })
    else { return nil }
    return "no PriorityClass with name \(name) was found (spec.template.spec.priorityClassName)"
  }

  /// The Priority admission plugin on a template's pods, as on every pod created: a named
  /// class gives the priority and preemption policy; a template naming none and setting no
  /// priority takes the global default class, if any.
  private func admitted(_ t: PodTemplate) -> PodTemplate {
    var t = t
    let classes = scenario.manifest.priorityClasses
    if !t.pod.priorityClassName.isEmpty {
      if let c = (classes + PriorityClassSpec.builtIn).first(where: {
        $0.name == t.pod.priorityClassName
      }) {
        t.pod.priority = c.value
        t.pod.preemptLowerPriority = c.preemptLowerPriority
      }
    } else if t.pod.priority == 0,
      let c = classes.filter(\.globalDefault).min(by: { $0.value < $1.value })
    {
      t.pod.priority = c.value
      t.pod.priorityClassName = c.name
      t.pod.preemptLowerPriority = c.preemptLowerPriority
    }
    return t
  }

  /// Stores a template (as admitted: `admitted`); pods refer to it by index.
  func addTemplate(_ t: PodTemplate) -> Int32 {
    let t = admitted(t)
    templates.append(t)
    if let id = identityIDs[t.identity] {
      templateIdentity.append(id)
    } else {
      identityIDs[t.identity] = Int32(identityIDs.count)
      templateIdentity.append(Int32(identityIDs.count - 1))
    }
    return Int32(templates.count - 1)
  }

  // MARK: Invariants

  /// What must hold after every event (tests check it with `Engine.checksInvariants`): time
  /// never goes back; a pod that is gone or finished holds no node, and a bound pod sits on a
  /// node that was not removed; every live pod of a ReplicaSet or Job is in its owner's list,
  /// and nothing else is; a ReplicaSet that has no reconcile pending reports the pods it has;
  /// a Deployment's ReplicaSets point back at it.
  public func invariantViolations() -> [String] {
    var out: [String] = []
    if now < lastChecked { out.append("time went back from \(lastChecked) to \(now)") }
    if let v = nodes.countViolation() { out.append(v) }
    if let v = endpoints.violation() { out.append(v) }
    if let v = workloadMetrics.violation() { out.append(v) }
    if let v = horizontalAutoscaling.violation() { out.append(v) }
    if let v = verticalAutoscaling.violation() { out.append(v) }
    if let v = clusterAutoscaling?.violation() { out.append(v) }
    if let v = karpenter?.violation() { out.append(v) }
    lastChecked = now
    let pods = cluster.pods
    var owned = [Int](repeating: 0, count: replicaSets.sets.count)
    var jobOwned = [Int](repeating: 0, count: jobs.jobs.count)
    for p in 0..<pods.count {
      let id = PodID(UInt32(p))
      let phase = pods.phase(of: id)
      if (isGone(id) || phase.isFinished) && pods.isBound(id) {
        out.append("pod \(name(id)) is \(isGone(id) ? "gone" : phase.rawValue) but holds a node")
      }
      if let n = pods.boundNode(id), nodes.isRemoved(n.index) {
        out.append("pod \(name(id)) is bound to removed node \(cluster.nodes.name(n))")
      }
      guard !isGone(id), p < records.count else { continue }
      let r = records[p]
      switch r.ownerKind {
      case .replicaSet:
        owned[Int(r.owner)] += 1
        if !replicaSets.sets[Int(r.owner)].pods.contains(id) {
          out.append("pod \(name(id)) is missing from its ReplicaSet's pods")
        }
      case .job:
        jobOwned[Int(r.owner)] += 1
        if !jobs.jobs[Int(r.owner)].pods.contains(id) {
          out.append("pod \(name(id)) is missing from its Job's pods")
        }
      case .daemonSet:
        if !daemonSets.sets[Int(r.owner)].pods.contains(id) {
          out.append("pod \(name(id)) is missing from its DaemonSet's pods")
        }
      case .statefulSet:
        let set = statefulSets.sets[Int(r.owner)]
        if set.pods[Int(r.completionIndex)] != id {
          out.append("pod \(name(id)) is missing from its StatefulSet's ordinals")
        }
      case .none: break
      }
    }
    for (i, rs) in replicaSets.sets.enumerated() {
      let live = rs.pods.filter { !isGone($0) }
      if live.count != owned[i] { out.append("ReplicaSet \(rs.name) lists pods it does not own") }
      let counted = (
        live.filter(isActive).count, live.filter { isActive($0) && isReady($0) }.count,
        rs.pods.count - live.count
      )
      if (rs.active, rs.ready, rs.gone) != counted {
        out.append(
          "ReplicaSet \(rs.name) counts \(rs.active) active, \(rs.ready) ready, \(rs.gone) gone; has \(counted)"
        )
      }
      if !replicaSets.isPending(i) && !rs.deleted {
        let active = live.filter(isActive)
        if rs.statusReplicas != active.count || rs.readyReplicas != active.filter(isReady).count {
          out.append(
            "ReplicaSet \(rs.name) reports \(rs.statusReplicas) replicas, \(rs.readyReplicas) ready; has \(active.count), \(active.filter(isReady).count) ready"
          )
        }
      }
      if rs.deployment >= 0, !rs.deleted,
        !deployments.deployments[Int(rs.deployment)].replicaSets.contains(i)
      {
        out.append("ReplicaSet \(rs.name) is missing from its Deployment's list")
      }
    }
    for (i, j) in jobs.jobs.enumerated() {
      let live = j.pods.filter { !isGone($0) }
      if live.count != jobOwned[i] { out.append("Job \(j.object.name) lists pods it does not own") }
      let counted = (live.filter(isActive).count, j.pods.count - live.count)
      if (j.activePods, j.gone) != counted {
        out.append(
          "Job \(j.object.name) counts \(j.activePods) active, \(j.gone) gone; has \(counted)")
      }
    }
    return out
  }

  @exclusivity(unchecked) private var lastChecked = VirtualTime.zero

  /// Traps on the first violated invariant, naming it.
  public func checkInvariants() {
    cluster.checkInvariants()
    if let v = invariantViolations().first { preconditionFailure("simulation invariant: \(v)") }
  }

  // MARK: Running

  /// Runs to the scenario's end (or `until`) and settles the records.
  public func run(until: VirtualTime? = nil) {
    advance(until: until ?? scenario.duration)
    finish()
  }

  /// Runs up to `time` (events at `time` included); may be called again with a later time.
  public func advance(until time: VirtualTime) {
    engine.run(until: time)
  }

  /// The controller's in-memory history of the HPA `namespace/name` now (its recommendations
  /// and scale events), as `berth hpa explain --history` reads it; nil when there is no such
  /// HPA (KEDA's are named `keda-hpa-<ScaledObject>`).
  public func hpaHistoryYAML(namespace: String, name: String) -> String? {
    let hpas = horizontalAutoscaling.hpas
    guard let i = hpas.firstIndex(where: { $0.spec.namespace == namespace && $0.spec.name == name })
    else { return nil }
    return horizontalAutoscaling.historyYAML(i)
  }

  /// Writes the last instant's records; call once, after the last `advance`.
  public func finish() {
    clusterAutoscaling?.finish()
    karpenter?.finish()
    recorder.finish(self)
  }

  /// Pods ever created (rows are reused, so the pod table's row count says less).
  public var podsCreated: Int { cluster.pods.added }

  /// The cluster's totals now.
  public var summaryTotals: (pods: Int, pending: Int, running: Int, nodes: Int, readyNodes: Int) {
    let t = recorder.totalsNow
    return (t.pods, t.pending, t.running, t.nodes, t.readyNodes)
  }

  /// The Cluster Autoscaler's run in one line (nil without one): scale-ups and removals,
  /// node-hours and cost, the p90 from a pod's creation to Ready for the pods it scaled up for.
  public var nodeAutoscalingLine: String? {
    if let k = karpenter {
      let o = k.outcome
      let launched = k.pools.reduce(0) { $0 + $1.launched }
      let disrupted = k.pools.reduce(0) { $0 + $1.disruptions.values.reduce(0, +) }
      let hours = k.pools.reduce(0.0) { $0 + $1.nodeSeconds } / 3600
      return
        "karpenter: \(launched) nodes launched, \(disrupted) disrupted, \(o.evictions) pods evicted; \(String(format: "%.1f", hours)) node-hours, cost \(String(format: "%.2f", o.cost))"
    }
    guard let ca = clusterAutoscaling else { return nil }
    let o = ca.outcome
    let hours = (0..<ca.groups.count).reduce(0.0) { $0 + ca.nodeHours($1) }
    let removed = ca.scaleDowns.empty + ca.scaleDowns.drained
    return
      "cluster autoscaler: \(ca.scaleUps.count) scale-ups, \(removed) nodes removed (\(ca.scaleDowns.failed) drains failed); \(String(format: "%.1f", hours)) node-hours, cost \(String(format: "%.2f", o.cost)); pending → Ready p90 \(String(format: "%.0f", o.chainP90)) s"
  }

  /// One line per workload: its state at the end.
  public func workloadLines() -> [String] {
    var out: [String] = []
    for d in deployments.deployments where !d.deleted {
      out.append(
        "Deployment \(d.object.namespace)/\(d.object.name): \(d.availableReplicas)/\(d.object.replicas) available, \(d.updatedReplicas) updated, revision \(d.replicaSets.map { replicaSets.sets[$0].revision }.max() ?? 0)\(d.progressing.map { " (\($0.reason))" } ?? "")"
      )
    }
    for r in replicaSets.sets where r.deployment < 0 && !r.deleted {
      out.append(
        "ReplicaSet \(r.namespace)/\(r.name): \(r.availableReplicas)/\(r.replicas) available")
    }
    for j in jobs.jobs where !j.deleted {
      let state = j.finished.map { $0.complete ? "Complete" : "Failed (\($0.reason))" } ?? "running"
      out.append(
        "Job \(j.object.namespace)/\(j.object.name): \(state), \(j.succeeded) succeeded, \(j.failed) failed"
      )
    }
    for s in statefulSets.sets where !s.deleted {
      let st = s.status
      out.append(
        "StatefulSet \(s.object.namespace)/\(s.object.name): \(st.ready)/\(s.object.replicas) ready, \(st.updated) updated, revision \(s.updateRevision)"
      )
    }
    for d in daemonSets.sets where !d.deleted {
      let s = d.status
      out.append(
        "DaemonSet \(d.object.namespace)/\(d.object.name): \(s.available)/\(s.desired) available, \(s.updated) updated, generation \(d.generation)"
      )
    }
    for c in cronJobs.cronJobs where !c.deleted {
      out.append(
        "CronJob \(c.object.namespace)/\(c.object.name): \(c.jobs.count) jobs kept, last scheduled \(c.lastSchedule.map(SimulationOutputs.rfc3339) ?? "never")"
      )
    }
    return out
  }
}
