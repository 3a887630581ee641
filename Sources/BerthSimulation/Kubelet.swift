import BerthCore
import BerthEngine
import BerthWorkloads

/// Every node's kubelet: a bound pod's image pull, init containers, container start, readiness,
/// exit and restart with CrashLoopBackOff, and graceful termination.
///
/// Steps are timers carrying the pod and its record's generation: deleting a pod, restarting
/// its container or losing its node bumps the generation, which voids the steps still pending.
final class Kubelet: Component {
  enum Step: UInt32 {
    case pulled, initialized, started, probeFailed, ready, exited, stopped, startupKill,
      livenessKill,
      // The first sidecar's: carry `sidecarGeneration`.
      sidecarExited, sidecarStarted

    var isSidecars: Bool { self == .sidecarExited || self == .sidecarStarted }
  }

  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) var rng: SplitMix64
  /// Per node row, the images it holds (names normalised as the scheduler does).
  @exclusivity(unchecked) private var images: [Set<String>] = []

  init(_ sim: Simulation, rng: SplitMix64) {
    self.sim = sim
    self.rng = rng
  }

  var name: String { "kubelet" }
  var watches: ClusterChangeKinds { [.assignedPodAdded] }

  func observe(_ change: ClusterChange, _ engine: Engine) {
    guard case .assignedPodAdded(let pod) = change,
      let node = sim.cluster.pods.boundNode(pod)
    else { return }
    sim.records[pod.index].node = Int32(node.index)
    sim.referNode(node.index)
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Scheduled",
      message:
        "Successfully assigned \(sim.namespace(pod))/\(sim.name(pod)) to \(sim.cluster.nodes.name(node))"
    )
    sim.recorder.podPhaseMayChange(pod)
    if sim.nodes.isAlive(node.index) { begin(pod) }
  }

  /// A step for the pod, carrying the generation that voids it: the sidecar's for its steps,
  /// the record's for the rest.
  private func timer(_ step: Step, _ pod: PodID, at time: VirtualTime) {
    let r = sim.records[pod.index]
    let g = UInt64(step.isSidecars ? r.sidecarGeneration : r.generation)
    sim.engine.schedule(
      self, at: time, tag: step.rawValue, payload: UInt64(pod.rawValue) | g << 32)
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let pod = PodID(UInt32(truncatingIfNeeded: t.payload))
    let generation = UInt32(truncatingIfNeeded: t.payload >> 32)
    let step = Step(rawValue: t.tag)
    if let step, step.isSidecars {
      guard sim.records[pod.index].sidecarGeneration == generation, !sim.isGone(pod) else {
        return
      }
      if step == .sidecarExited { sidecarExited(pod) } else { sidecarStarted(pod) }
      return
    }
    guard sim.records[pod.index].generation == generation, !sim.isGone(pod) else { return }
    switch step {
    case .pulled:
      let image = sim.mainContainer(pod).image
      ensureImages()
      images[Int(sim.records[pod.index].node)].insert(PodConstraints.normalizedImageName(image))
      sim.recorder.event(
        pod: pod, in: sim, type: .normal, reason: "Pulled",
        message: "Successfully pulled image \"\(image)\"")
      initialize(pod)
    case .initialized: start(pod)
    case .started:
      // A restart after back-off.
      sim.cluster.pods.restarts[pod.index] += 1
      start(pod)
    case .probeFailed:
      sim.recorder.event(
        pod: pod, in: sim, type: .warning, reason: "Unhealthy",
        message: "Readiness probe failed")
    case .ready: becomeReady(pod)
    case .startupKill: kill(pod, probe: "Startup")
    case .livenessKill: kill(pod, probe: "Liveness")
    case .exited: exited(pod)
    case .stopped: sim.remove(pod)
    case .sidecarExited, .sidecarStarted: break
    case nil: preconditionFailure("unknown kubelet step \(t.tag)")
    }
  }

  /// A node joined: a row that held a removed node's images starts from the new node's.
  func nodeAdded(_ row: Int) {
    guard row < images.count else { return }
    images[row] = Set(
      sim.cluster.nodes.specs[row].images.flatMap(\.names).map(PodConstraints.normalizedImageName))
  }

  private func ensureImages() {
    while images.count < sim.cluster.nodes.count {
      let spec = sim.nodes.spec(images.count)
      images.append(
        Set(spec.images.flatMap(\.names).map(PodConstraints.normalizedImageName)))
    }
  }

  /// A pod bound to a live node (or whose node came back): pull, init, start.
  func begin(_ pod: PodID) {
    ensureImages()
    let node = Int(sim.records[pod.index].node)
    let image = sim.mainContainer(pod).image
    if images[node].contains(PodConstraints.normalizedImageName(image)) {
      sim.recorder.event(
        pod: pod, in: sim, type: .normal, reason: "Pulled",
        message: "Container image \"\(image)\" already present on machine")
      initialize(pod)
      return
    }
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Pulling", message: "Pulling image \"\(image)\"")
    let pull = sim.behavior(of: pod).imagePull?.sample(&rng) ?? .zero
    timer(.pulled, pod, at: sim.now + pull)
  }

  /// Init containers in order: each regular one runs to completion (`initDuration`); a
  /// sidecar starts in its turn and the next one follows at once, the sidecar running on.
  private func initialize(_ pod: PodID) {
    let (regular, sidecars) = sim.initContainers(pod)
    var total = VirtualTime.zero
    if regular > 0, let d = sim.behavior(of: pod).initDuration {
      for _ in 0..<regular { total = total + d.sample(&rng) }
    }
    if !sidecars.isEmpty { startSidecar(pod) }
    if total > .zero {
      timer(.initialized, pod, at: sim.now + total)
    } else {
      start(pod)
    }
  }

  private func start(_ pod: PodID) {
    let pods = sim.cluster.pods
    pods.conditions[pod.index] |= PodConditions.initialized.rawValue
    sim.records[pod.index].running = true
    if pods.phase(of: pod) != .running {
      pods.setPhase(pod, .running)
    }
    if pods.startedAt[pod.index] == PodTable.never {
      pods.set(pods.startedAt, of: pod, to: sim.now)
    }
    sim.records[pod.index].containerStartedAt = sim.now.nanoseconds
    sim.recorder.podPhaseMayChange(pod)
    sim.endpoints.podChanged(pod)
    sim.workloadMetrics.podChanged(pod)
    let container = sim.mainContainer(pod).name
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Created", message: "Created container \(container)"
    )
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Started", message: "Started container \(container)"
    )
    let behavior = sim.behavior(of: pod)
    let readyAfter = behavior.readyAfter?.sample(&rng) ?? .zero
    var readyAt = sim.now + readyAfter
    // The startup probe holds readiness and liveness back until it succeeds, and kills the
    // container when it fails failureThreshold times first; the liveness probe kills it
    // failureThreshold probes after the application turns unhealthy.
    let (startupProbe, livenessProbe) = sim.healthProbes(of: pod)
    let start = sim.now.nanoseconds
    var startedAt = start
    var kill: (step: Step, at: Int64)?
    if let p = startupProbe {
      let passes = start + (behavior.startedAfter?.sample(&rng) ?? .zero).nanoseconds
      let verdict = ProbeTimeline.startup(Self.timeline(p), start: start, passesFrom: passes)
      if verdict.started {
        startedAt = verdict.at
      } else {
        // Never started: never Ready either.
        kill = (.startupKill, verdict.at)
        startedAt = verdict.at
      }
    }
    if kill == nil, let p = livenessProbe, let u = behavior.unhealthyAfter {
      let failsFrom = start + u.sample(&rng).nanoseconds
      kill = (
        .livenessKill,
        ProbeTimeline.livenessKill(
          Self.timeline(p), start: start, startedAt: startedAt, failsFrom: failsFrom)
      )
    }
    if readyAt.nanoseconds < startedAt { readyAt = VirtualTime(nanoseconds: startedAt) }
    if let probe = sim.readinessProbe(of: pod) {
      // Probes run initialDelaySeconds after the start, then every periodSeconds; the first
      // one at or after readyAfter succeeds, and successThreshold of them make the pod Ready.
      let first = sim.now + .seconds(probe.initialDelaySeconds)
      let period = VirtualTime.seconds(probe.periodSeconds).nanoseconds
      var success = first
      if readyAt > first {
        let k = (readyAt.nanoseconds - first.nanoseconds + period - 1) / period
        success = VirtualTime(nanoseconds: first.nanoseconds + k * period)
        timer(.probeFailed, pod, at: first)
      }
      readyAt = VirtualTime(
        nanoseconds: success.nanoseconds + (probe.successThreshold - 1) * period)
    }
    let exitAt = behavior.exitAfter.map { sim.now + $0.sample(&rng) }
    // The container's end: its own exit, or a probe's kill if that comes first.
    var end: (step: Step, at: VirtualTime)? = exitAt.map { (.exited, $0) }
    if let kill, end == nil || kill.at < end!.at.nanoseconds {
      end = (kill.step, VirtualTime(nanoseconds: kill.at))
    }
    if let end, end.at <= readyAt {
      timer(end.step, pod, at: end.at)
      return
    }
    timer(.ready, pod, at: readyAt)
    if let end { timer(end.step, pod, at: end.at) }
  }

  static func timeline(_ p: Probe) -> ProbeTimeline.Probe {
    ProbeTimeline.Probe(
      initialDelay: p.initialDelaySeconds * 1_000_000_000, period: p.periodSeconds * 1_000_000_000,
      failureThreshold: p.failureThreshold)
  }

  /// A probe failed failureThreshold times: the kubelet kills the container (SIGTERM, then it
  /// exits 137 after its stop time, at most the grace period) and restarts it by the policy.
  private func kill(_ pod: PodID, probe: String) {
    let container = sim.mainContainer(pod).name
    sim.recorder.event(
      pod: pod, in: sim, type: .warning, reason: "Unhealthy", message: "\(probe) probe failed")
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Killing",
      message: "Container \(container) failed \(probe.lowercased()) probe, will be restarted")
    sim.records[pod.index].killedByProbe = true
    let grace = VirtualTime.seconds(
      sim.cluster.pods.constraints(of: pod).terminationGracePeriodSeconds)
    loseReady(pod)
    timer(.exited, pod, at: sim.now + stopTime(pod, grace: grace))
  }

  // MARK: Sidecars

  /// The first sidecar starts (its siblings start with it and never exit): a `sidecarExitAfter`
  /// behaviour plans its exit.
  private func startSidecar(_ pod: PodID) {
    sim.records[pod.index].sidecarDown = false
    let name = sim.initContainers(pod).sidecars[0]
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Started", message: "Started container \(name)")
    if let d = sim.behavior(of: pod).sidecarExitAfter {
      timer(.sidecarExited, pod, at: sim.now + d.sample(&rng))
    }
  }

  /// The sidecar exited: the pod is not Ready until it is back (its containers are not all
  /// ready), and the kubelet restarts it after its own back-off, whatever the pod's
  /// restartPolicy — a sidecar is always restarted.
  private func sidecarExited(_ pod: PodID) {
    let pods = sim.cluster.pods
    guard pods.phase(of: pod) == .running || pods.phase(of: pod) == .pending else { return }
    sim.records[pod.index].sidecarDown = true
    setReady(pod, false)
    let restartAt = sim.records[pod.index].sidecarBackOff.restartTime(
      finishedAt: sim.now.nanoseconds)
    if restartAt > sim.now.nanoseconds {
      let name = sim.initContainers(pod).sidecars[0]
      sim.recorder.event(
        pod: pod, in: sim, type: .warning, reason: "BackOff",
        message:
          "Back-off restarting failed container \(name) in pod \(sim.name(pod))_\(sim.namespace(pod))"
      )
    }
    timer(.sidecarStarted, pod, at: VirtualTime(nanoseconds: restartAt))
  }

  private func sidecarStarted(_ pod: PodID) {
    let pods = sim.cluster.pods
    guard pods.phase(of: pod) == .running || pods.phase(of: pod) == .pending else { return }
    pods.restarts[pod.index] += 1
    startSidecar(pod)
    let r = sim.records[pod.index]
    if r.mainReady && !r.markedNotReady { setReady(pod, true) }
  }

  /// Sets or clears the pod's Ready and ContainersReady conditions, telling its owner.
  private func setReady(_ pod: PodID, _ ready: Bool) {
    let pods = sim.cluster.pods
    let mask = PodConditions.ready.rawValue | PodConditions.containersReady.rawValue
    guard (pods.conditions[pod.index] & mask != 0) != ready else { return }
    if ready {
      pods.conditions[pod.index] |= mask
      pods.set(pods.readyAt, of: pod, to: sim.now)
      if sim.records[pod.index].firstReady == PodTable.never {
        sim.records[pod.index].firstReady = sim.now.nanoseconds
      }
    } else {
      pods.conditions[pod.index] &= ~mask
      sim.records[pod.index].notReadyAt = sim.now.nanoseconds
    }
    sim.recorder.podPhaseMayChange(pod)
    sim.notifyOwner(pod)
  }

  // MARK: Readiness

  private func becomeReady(_ pod: PodID) {
    guard sim.records[pod.index].running else { return }
    sim.records[pod.index].mainReady = true
    let r = sim.records[pod.index]
    guard !r.markedNotReady, !r.sidecarDown else { return }
    setReady(pod, true)
  }

  /// The pod's Ready condition goes (its container stopped, or its node stopped reporting).
  func loseReady(_ pod: PodID) {
    sim.records[pod.index].mainReady = false
    let pods = sim.cluster.pods
    let mask = PodConditions.ready.rawValue | PodConditions.containersReady.rawValue
    guard pods.conditions[pod.index] & mask != 0 else { return }
    pods.conditions[pod.index] &= ~mask
    sim.records[pod.index].notReadyAt = sim.now.nanoseconds
    sim.recorder.podPhaseMayChange(pod)
    sim.notifyOwner(pod)
  }

  /// The container's memory went above its limit: the kernel kills it (OOMKilled, exit 137)
  /// and the kubelet restarts it by the pod's policy, with CrashLoopBackOff.
  func oomKill(_ pod: PodID, usedBytes: Int64, limitBytes: Int64) {
    guard sim.records[pod.index].running else { return }
    let container = sim.mainContainer(pod).name
    sim.recorder.event(
      pod: pod, in: sim, type: .warning, reason: "OOMKilling",
      message:
        "Memory cgroup out of memory: killed container \(container) (using \(usedBytes) bytes, limit \(limitBytes))"
    )
    sim.records[pod.index].killedByProbe = true
    sim.verticalAutoscaling.oomKilled(pod)
    exited(pod, oom: true)
  }

  enum ResizeOutcome { case done, deferred, infeasible }

  /// An in-place resize of a running pod's main container (KEP-1287, the kubelet's admission of
  /// a resize): Infeasible when the pod's new requests exceed the node's allocatable, Deferred
  /// while the node's other pods leave too little room (or the new memory limit is below what
  /// the container uses now), else done at once — no restart (resizePolicy NotRequired).
  func resize(
    _ pod: PodID, from old: VerticalAutoscaling.MainResources,
    to new: VerticalAutoscaling.MainResources
  ) -> ResizeOutcome {
    let pods = sim.cluster.pods
    guard let node = pods.boundNode(pod) else { return .deferred }
    let n = sim.cluster.nodes
    let i = node.index
    let cpu = pods.requestCPU[pod.index] - old.cpu + new.cpu
    let memory = pods.requestMemory[pod.index] - old.memory + new.memory
    if cpu > n.allocatableCPU[i] || memory > n.allocatableMemory[i] { return .infeasible }
    let otherCPU = n.requestedCPU[i] - pods.requestCPU[pod.index]
    let otherMemory = n.requestedMemory[i] - pods.requestMemory[pod.index]
    if otherCPU + cpu > n.allocatableCPU[i] || otherMemory + memory > n.allocatableMemory[i] {
      return .deferred
    }
    if new.memoryLimit > 0, new.memoryLimit < old.memoryLimit || old.memoryLimit == 0 {
      let entry = Int(sim.records[pod.index].usage)
      if entry >= 0,
        let used = sim.workloadMetrics.usage(
          pod, entry: entry, at: sim.now, share: sim.workloadMetrics.shareAtScrape[entry],
          window: false),
        used.memoryBytes > new.memoryLimit
      {
        return .deferred
      }
    }
    return .done
  }

  /// An in-place resize of a resource whose resizePolicy is RestartContainer: the kubelet
  /// stops the container (its stop time, at most the grace period) and starts it again at once.
  func restartForResize(_ pod: PodID) {
    guard sim.records[pod.index].running, !sim.records[pod.index].restartingForResize else {
      return
    }
    let container = sim.mainContainer(pod).name
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Killing",
      message: "Container \(container) resize requires restart")
    sim.records[pod.index].restartingForResize = true
    let grace = VirtualTime.seconds(
      sim.cluster.pods.constraints(of: pod).terminationGracePeriodSeconds)
    loseReady(pod)
    timer(.exited, pod, at: sim.now + stopTime(pod, grace: grace))
  }

  private func exited(_ pod: PodID, oom: Bool = false) {
    let pods = sim.cluster.pods
    sim.records[pod.index].oomKilled = oom
    let started = sim.records[pod.index].containerStartedAt
    sim.records[pod.index].lastRunNanos =
      started == PodTable.never ? 0 : sim.now.nanoseconds - started
    sim.records[pod.index].running = false
    sim.records[pod.index].generation &+= 1
    loseReady(pod)
    sim.workloadMetrics.podChanged(pod)
    let code = sim.records[pod.index].killedByProbe ? 137 : sim.behavior(of: pod).exitCode
    sim.records[pod.index].killedByProbe = false
    sim.records[pod.index].exitCode = code
    if sim.records[pod.index].restartingForResize {
      sim.records[pod.index].restartingForResize = false
      timer(.started, pod, at: sim.now)
      return
    }
    let policy = sim.restartPolicy(of: pod)
    if policy == .always || (policy == .onFailure && code != 0) {
      let restartAt = sim.records[pod.index].backOff.restartTime(finishedAt: sim.now.nanoseconds)
      if restartAt > sim.now.nanoseconds {
        let container = sim.mainContainer(pod).name
        sim.recorder.event(
          pod: pod, in: sim, type: .warning, reason: "BackOff",
          message:
            "Back-off restarting failed container \(container) in pod \(sim.name(pod))_\(sim.namespace(pod))"
        )
      }
      timer(.started, pod, at: VirtualTime(nanoseconds: restartAt))
      return
    }
    // The pod is done: its sidecars are stopped with it.
    sim.records[pod.index].sidecarGeneration &+= 1
    pods.setPhase(pod, code == 0 ? .succeeded : .failed)
    pods.set(pods.finishedAt, of: pod, to: sim.now)
    if pods.isBound(pod) { sim.cluster.unbind(pod) }
    sim.recorder.podPhaseMayChange(pod)
    sim.notifyOwner(pod)
  }

  /// A graceful deletion of a bound pod: SIGTERM, then the pod is gone when the container
  /// stops (its `stopAfter`, at most `grace`), or at once if it is not running.
  func terminate(_ pod: PodID, grace: VirtualTime) {
    sim.records[pod.index].generation &+= 1
    // Sidecars stop after the main container; none restarts meanwhile.
    sim.records[pod.index].sidecarGeneration &+= 1
    let node = Int(sim.records[pod.index].node)
    guard node >= 0, sim.nodes.isAlive(node) else { return }  // kept until the node returns
    loseReady(pod)
    guard sim.records[pod.index].running else {
      sim.remove(pod)
      return
    }
    sim.recorder.event(
      pod: pod, in: sim, type: .normal, reason: "Killing",
      message: "Stopping container \(sim.mainContainer(pod).name)")
    timer(.stopped, pod, at: sim.now + stopTime(pod, grace: grace))
  }

  /// From the kill to the container's exit (`killContainer`): the preStop hook runs first (cut
  /// at the grace period), then SIGTERM and the container's own stop time within what is left of
  /// the grace period — never less than 2 s, the kubelet's minimum — then SIGKILL.
  private func stopTime(_ pod: PodID, grace: VirtualTime) -> VirtualTime {
    let behavior = sim.behavior(of: pod)
    var hook = VirtualTime.zero
    if let seconds = sim.preStopSeconds(of: pod) {
      hook = seconds >= 0 ? .seconds(seconds) : behavior.preStop?.sample(&rng) ?? .zero
    }
    let stop = behavior.stopAfter?.sample(&rng) ?? .zero
    hook = Swift.min(hook, grace)
    let left = Swift.max(grace - hook, .seconds(Int64(2)))
    return hook + Swift.min(stop, left)
  }

  /// The node went down: its containers stop with it. The API does not know yet — the pod
  /// keeps its phase and Ready condition until the node lifecycle controller marks it.
  func suspend(_ pod: PodID) {
    sim.records[pod.index].generation &+= 1
    sim.records[pod.index].sidecarGeneration &+= 1
    sim.records[pod.index].running = false
    sim.workloadMetrics.podChanged(pod)
  }

  /// The node is back: a pod deleted meanwhile is gone at once; the others start again (a
  /// container that had run counts a restart), through image check, init and readiness.
  func resume(_ pod: PodID) {
    let pods = sim.cluster.pods
    if pods.isTerminating(pod) {
      sim.remove(pod)
      return
    }
    sim.records[pod.index].markedNotReady = false
    loseReady(pod)
    if pods.startedAt[pod.index] != PodTable.never { pods.restarts[pod.index] += 1 }
    begin(pod)
  }
}
