import BerthCore
import BerthEngine
import BerthWorkloads

/// A Job as its controller sees it.
final class JobState {
  @exclusivity(unchecked) var object: JobObject
  @exclusivity(unchecked) var uid: UInt64
  @exclusivity(unchecked) var template: Int32
  /// The CronJob that made it (index into the CronJob controller's), or -1.
  @exclusivity(unchecked) var cronJob: Int32
  @exclusivity(unchecked) var created: VirtualTime
  /// Its pods not yet gone (and `gone` of them gone since the last sync), oldest first.
  @exclusivity(unchecked) var pods: [PodID] = []
  /// Of `pods`: those neither finished nor being deleted, and the gone ones; kept as pods
  /// change (`JobController.podChanged`).
  @exclusivity(unchecked) var activePods = 0
  @exclusivity(unchecked) var gone = 0
  /// Pods that changed since the last sync, whose end may need counting (repeats allowed).
  @exclusivity(unchecked) var changed: [PodID] = []
  /// The first pod made (NonIndexed Jobs): later ones copy its row.
  @exclusivity(unchecked) var prototype: PodID?
  /// `status.active` as last published.
  @exclusivity(unchecked) var active = 0
  @exclusivity(unchecked) var succeeded = 0
  @exclusivity(unchecked) var failed = 0
  /// Indexed Jobs: which completion indexes succeeded.
  @exclusivity(unchecked) var succeededIndexes: [Bool] = []
  /// With `backoffLimitPerIndex`, per index: failed for good, its counted and ignored
  /// failures (upstream's `job-index-failure-count` and `job-index-ignored-failure-count`
  /// annotations), and when it last failed (ns; its back-off runs from there).
  @exclusivity(unchecked) var failedIndexes: [Bool] = []
  /// How many of `failedIndexes` are set.
  @exclusivity(unchecked) var failedIndexTotal = 0
  @exclusivity(unchecked) var indexFailures: [Int32] = []
  @exclusivity(unchecked) var indexIgnoredFailures: [Int32] = []
  @exclusivity(unchecked) var indexLastFailure: [Int64] = []
  @exclusivity(unchecked) var backOff = JobBackOffRecord()
  /// The message of the pod failure policy's FailJob rule a failed pod matched.
  @exclusivity(unchecked) var policyFailure: String?
  @exclusivity(unchecked) var started: VirtualTime?
  /// Complete or Failed, with the reason and when.
  @exclusivity(unchecked) var finished: (complete: Bool, reason: String, at: VirtualTime)?
  @exclusivity(unchecked) var deleted = false
  @exclusivity(unchecked) var timer: TimerHandle?
  @exclusivity(unchecked) var series = -1

  init(object: JobObject, uid: UInt64, template: Int32, cronJob: Int32, created: VirtualTime) {
    self.object = object
    self.uid = uid
    self.template = template
    self.cronJob = cronJob
    self.created = created
    if object.indexed {
      let n = object.completions ?? 0
      succeededIndexes = [Bool](repeating: false, count: n)
      if object.backoffLimitPerIndex != nil {
        failedIndexes = succeededIndexes
        indexFailures = [Int32](repeating: 0, count: n)
        indexIgnoredFailures = indexFailures
        indexLastFailure = [Int64](repeating: 0, count: n)
      }
    }
  }

  /// Indexes neither succeeded nor failed for good.
  var openIndexes: Int {
    var n = 0
    for k in succeededIndexes.indices where !succeededIndexes[k] {
      if failedIndexes.isEmpty || !failedIndexes[k] { n += 1 }
    }
    return n
  }
}

/// The Job controller (`pkg/controller/job`): runs `parallelism` pods until `completions`
/// succeed (NonIndexed or Indexed), replaces failed pods after the pod-failure back-off, fails
/// the Job past `backoffLimit` or `activeDeadlineSeconds`, and deletes it
/// `ttlSecondsAfterFinished` after it finished.
final class JobController: QueuedController {
  enum Tag: UInt32 { case sync, expire }

  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) var rng: SplitMix64
  @exclusivity(unchecked) var jobs: [JobState] = []
  @exclusivity(unchecked) private var index = ObjectIndex()
  @exclusivity(unchecked) var queue = WorkQueue()

  init(_ sim: Simulation, rng: SplitMix64) {
    self.sim = sim
    self.rng = rng
  }

  var name: String { "job-controller" }
  static let fields = ["active", "succeeded", "failed"]

  func find(namespace: String, name: String) -> Int? {
    index[namespace, name].flatMap { jobs[$0].deleted ? nil : $0 }
  }

  func markDirty(_ i: Int) { queue.add(i) }

  /// One of the Job's pods changed: its counts follow, and the Job syncs.
  func podChanged(_ pod: PodID, of i: Int) {
    let j = jobs[i]
    let (new, changed) = sim.viewChange(pod)
    if changed & OwnerView.active != 0 { j.activePods += new & OwnerView.active != 0 ? 1 : -1 }
    if changed & OwnerView.gone != 0 { j.gone += new & OwnerView.gone != 0 ? 1 : -1 }
    j.changed.append(pod)
    markDirty(i)
  }

  /// A failed pod as a pod failure policy sees it: its main container's exit code when it
  /// exited (a pod deleted before it finished has none), and its conditions — DisruptionTarget
  /// when an eviction deleted it.
  private func failedPod(_ p: PodID) -> PodFailurePolicy.FailedPod {
    let r = sim.records[p.index]
    let exited = sim.cluster.pods.phase(of: p) == .failed
    var conditions: [(type: String, status: String)] = [
      ("Initialized", sim.cluster.pods.startedAt[p.index] != PodTable.never ? "True" : "False"),
      ("Ready", "False"), ("ContainersReady", "False"),
      ("PodScheduled", r.node >= 0 ? "True" : "False"),
    ]
    if r.disrupted { conditions.append(("DisruptionTarget", "True")) }
    return PodFailurePolicy.FailedPod(
      namespace: sim.namespace(p), name: sim.name(p),
      exitCodes: exited ? [(sim.mainContainer(p).name, r.exitCode)] : [],
      conditions: conditions)
  }

  /// The Job's active pods, oldest first.
  private func activeList(_ j: JobState) -> [PodID] { j.pods.filter(sim.isActive) }

  /// Creates a Job, or updates the mutable fields of an existing one (parallelism, suspend,
  /// activeDeadlineSeconds, ttlSecondsAfterFinished: the template of a Job is immutable).
  @discardableResult
  func apply(_ object: JobObject, owner: Int32) -> Int {
    if let i = find(namespace: object.namespace, name: object.name) {
      let j = jobs[i]
      j.object.parallelism = object.parallelism
      j.object.suspend = object.suspend
      j.object.activeDeadlineSeconds = object.activeDeadlineSeconds
      j.object.ttlSecondsAfterFinished = object.ttlSecondsAfterFinished
      markDirty(i)
      return i
    }
    let j = JobState(
      object: object, uid: rng.next(), template: sim.addTemplate(object.template),
      cronJob: owner, created: sim.now)
    jobs.append(j)
    index[object.namespace, object.name] = jobs.count - 1
    j.series = sim.recorder.series(
      kind: "Job", namespace: object.namespace, name: object.name, fields: Self.fields)
    markDirty(jobs.count - 1)
    return jobs.count - 1
  }

  /// Deletes the Job and (garbage collection) its pods.
  func delete(_ i: Int) {
    let j = jobs[i]
    guard !j.deleted else { return }
    j.deleted = true
    index[j.object.namespace, j.object.name] = nil
    if let t = j.timer { sim.engine.cancel(t) }
    for p in j.pods { dismiss(p) }
    markDirty(i)
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let i = Int(t.payload)
    jobs[i].timer = nil
    switch Tag(rawValue: t.tag) {
    case .sync: markDirty(i)
    case .expire: delete(i)
    case nil: preconditionFailure("unknown job timer")
    }
  }

  private func arm(_ i: Int, _ tag: Tag, at time: VirtualTime) {
    let j = jobs[i]
    if let t = j.timer { sim.engine.cancel(t) }
    j.timer = sim.engine.schedule(
      self, at: Swift.max(time, sim.now), tag: tag.rawValue, payload: UInt64(i))
  }

  func sync(_ i: Int) {
    let j = jobs[i]
    countEnds(j)
    if j.gone > 0 {
      j.pods.removeAll(where: sim.isGone)
      j.gone = 0
    }
    if j.deleted {
      if let p = j.prototype { sim.setPrototype(p, false) }
      j.prototype = nil
      publish(i, active: 0)
      return
    }
    if j.finished == nil {
      if !j.object.suspend && j.started == nil {
        j.started = sim.now
      }
      let pods = sim.cluster.pods
      let restarts =
        j.object.template.restartPolicy == .onFailure
        ? activeList(j).map { Int(pods.restarts[$0.index]) }.reduce(0, +) : 0
      let deadline = j.object.activeDeadlineSeconds.flatMap { s in
        j.started.map { $0 + .seconds(s) }
      }
      if let message = j.policyFailure {
        finish(i, complete: false, reason: "PodFailurePolicy", message: message)
      } else if j.failed + restarts > j.object.backoffLimit {
        finish(
          i, complete: false, reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit")
      } else if let deadline, sim.now >= deadline {
        finish(
          i, complete: false, reason: "DeadlineExceeded",
          message: "Job was active longer than specified deadline")
      } else if let failed = failedIndexCount(j),
        let most = j.object.maxFailedIndexes, failed > most
      {
        finish(
          i, complete: false, reason: "MaxFailedIndexesExceeded",
          message: "Job has exceeded the specified maximal number of failed indexes")
      } else if let failed = failedIndexCount(j), failed > 0,
        failed + j.succeededIndexes.filter({ $0 }).count >= j.succeededIndexes.count
      {
        finish(i, complete: false, reason: "FailedIndexes", message: "Job has failed indexes")
      } else if isComplete(j, active: j.activePods) {
        finish(i, complete: true, reason: "Completed", message: "Job completed")
      } else if j.object.suspend {
        for p in activeList(j) { dismiss(p) }
      } else {
        manage(i)
        if let deadline, j.timer == nil { arm(i, .sync, at: deadline) }
      }
    }
    if j.finished != nil {
      for p in activeList(j) { dismiss(p) }
    }
    publish(i, active: j.activePods)
  }

  /// Counts each newly ended pod once — a pod gone before it finished counts as failed — and
  /// keeps the pod-failure back-off record as upstream's `newBackoffRecord`: with new
  /// successes, only the failures that ended after the last of them count.
  private func countEnds(_ j: JobState) {
    guard !j.changed.isEmpty else { return }
    let pods = sim.cluster.pods
    var successes: [Int64] = []
    var failures: [Int64] = []
    var failJob: String?
    for p in j.changed where !sim.records[p.index].counted {
      let phase = pods.phase(of: p)
      let end =
        pods.finishedAt[p.index] != PodTable.never
        ? pods.finishedAt[p.index] : sim.now.nanoseconds
      if phase == .succeeded {
        sim.records[p.index].counted = true
        j.succeeded += 1
        successes.append(end)
        let k = Int(sim.records[p.index].completionIndex)
        if k >= 0 && k < j.succeededIndexes.count { j.succeededIndexes[k] = true }
      } else if phase == .failed || (sim.isGone(p) && j.finished == nil) {
        sim.records[p.index].counted = true
        var counts = true
        var failIndex = false
        if let policy = j.object.podFailurePolicy {
          let verdict = policy.match(failedPod(p))
          if failJob == nil { failJob = verdict.failJob }
          counts = verdict.counts
          failIndex = verdict.failIndex
        }
        let k = Int(sim.records[p.index].completionIndex)
        if let limit = j.object.backoffLimitPerIndex, k >= 0 && k < j.failedIndexes.count {
          // `isIndexFailed`: FailIndex, or a counted failure of a pod whose index had failed
          // `backoffLimitPerIndex` times before it.
          if (failIndex || (counts && j.indexFailures[k] >= limit)) && !j.failedIndexes[k] {
            j.failedIndexes[k] = true
            j.failedIndexTotal += 1
          }
          if counts { j.indexFailures[k] += 1 } else { j.indexIgnoredFailures[k] += 1 }
          j.indexLastFailure[k] = end
        }
        // Ignored: neither in status.failed nor towards backoffLimit; the pod is replaced.
        guard counts else { continue }
        j.failed += 1
        failures.append(end)
      }
    }
    j.changed.removeAll(keepingCapacity: true)
    j.backOff.add(succeeded: successes, failed: failures)
    if let failJob, j.finished == nil { j.policyFailure = failJob }
  }

  /// Deletes a pod the Job no longer wants: its end does not count as a failure.
  private func dismiss(_ pod: PodID) {
    sim.records[pod.index].counted = true
    sim.deletePod(pod)
  }

  /// With `backoffLimitPerIndex`, how many indexes failed for good.
  private func failedIndexCount(_ j: JobState) -> Int? {
    j.object.backoffLimitPerIndex == nil ? nil : j.failedIndexTotal
  }

  /// `status.completedIndexes` / `failedIndexes`: the set indexes as intervals, `1,3-5`.
  static func intervals(_ set: [Bool]) -> String {
    var parts: [String] = []
    var k = 0
    while k < set.count {
      guard set[k] else {
        k += 1
        continue
      }
      var end = k
      while end + 1 < set.count && set[end + 1] { end += 1 }
      parts.append(end == k ? "\(k)" : "\(k)-\(end)")
      k = end + 1
    }
    return parts.joined(separator: ",")
  }

  private func isComplete(_ j: JobState, active: Int) -> Bool {
    guard active == 0 else { return false }
    if j.object.indexed { return j.succeededIndexes.allSatisfy { $0 } }
    guard let c = j.object.completions else { return j.succeeded > 0 }
    return j.succeeded >= c
  }

  /// `manageJob`: creates or deletes pods toward the wanted number of active ones, waiting out
  /// the pod-failure back-off before a replacement.
  private func manage(_ i: Int) {
    let j = jobs[i]
    let want: Int
    if j.object.indexed {
      want = min(j.object.parallelism, j.openIndexes)
    } else if let c = j.object.completions {
      want = Swift.max(0, min(j.object.parallelism, c - j.succeeded))
    } else {
      want = j.succeeded > 0 ? 0 : j.object.parallelism
    }
    let diff = want - j.activePods
    if diff < 0 {
      // The newest go first.
      for p in activeList(j).suffix(-diff) { dismiss(p) }
      return
    }
    // With a pod failure policy, a replacement waits for the pod it replaces to be gone
    // (podReplacementPolicy Failed, its default then); without, terminating pods are replaced
    // at once (TerminatingOrFailed).
    let terminating =
      j.object.podFailurePolicy == nil
      ? 0 : j.pods.filter { sim.cluster.pods.isTerminating($0) }.count
    let missing = diff - terminating
    guard missing > 0 else { return }
    var busy =
      j.object.indexed
      ? Set(activeList(j).map { sim.records[$0.index].completionIndex }) : []
    // The indexes a pod may be made for now: with a per-index limit each waits out its own
    // back-off (`getPodCreationInfoForIndependentIndexes`), else the Job's back-off holds all.
    var ready: (Int) -> Bool = { _ in true }
    if j.object.backoffLimitPerIndex != nil {
      let now = sim.now.nanoseconds
      let maximum = sim.settings.jobPodFailureBackOffMax.nanoseconds
      func due(_ k: Int) -> Int64 {
        let failures = Int(j.indexFailures[k] + j.indexIgnoredFailures[k])
        return failures == 0
          ? now : j.indexLastFailure[k] + JobBackOff.delay(failures: failures, maximum: maximum)
      }
      let open = j.succeededIndexes.indices.filter {
        !j.succeededIndexes[$0] && !j.failedIndexes[$0] && !busy.contains(Int32($0))
      }
      guard !open.isEmpty else { return }
      if !open.contains(where: { due($0) <= now }) {
        arm(i, .sync, at: VirtualTime(nanoseconds: open.map(due).min()!))
        return
      }
      ready = { due($0) <= now }
    } else if let due = j.backOff.due(maximum: sim.settings.jobPodFailureBackOffMax.nanoseconds),
      sim.now.nanoseconds < due
    {
      arm(i, .sync, at: VirtualTime(nanoseconds: due))
      return
    }
    for _ in 0..<missing {
      var completionIndex: Int32 = -1
      var prefix = j.object.name + "-"
      if j.object.indexed {
        guard
          let k = j.succeededIndexes.indices.first(where: {
            !j.succeededIndexes[$0] && (j.failedIndexes.isEmpty || !j.failedIndexes[$0])
              && !busy.contains(Int32($0)) && ready($0)
          })
        else { break }
        completionIndex = Int32(k)
        busy.insert(completionIndex)
        prefix += String(k) + "-"
      }
      let name = sim.replicaSets.uniqueName(prefix: prefix)
      let pod: PodID
      if let prototype = j.prototype {
        pod = sim.createPod(copying: prototype, name: name)
      } else {
        var spec = j.object.template.pod
        spec.name = name
        spec.namespace = j.object.namespace
        spec.labels["batch.kubernetes.io/controller-uid"] = String(j.uid, radix: 16)
        spec.labels["batch.kubernetes.io/job-name"] = j.object.name
        spec.labels["controller-uid"] = String(j.uid, radix: 16)
        spec.labels["job-name"] = j.object.name
        if completionIndex >= 0 {
          spec.labels["batch.kubernetes.io/job-completion-index"] = String(completionIndex)
        }
        pod = sim.createPod(
          spec, template: j.template, ownerKind: .job, owner: Int32(i),
          completionIndex: completionIndex)
        // Indexed pods differ by their index label: each is built from the template.
        if !j.object.indexed {
          j.prototype = pod
          sim.setPrototype(pod, true)
        }
      }
      j.pods.append(pod)
      sim.records[pod.index].ownerView = OwnerView.active
      j.activePods += 1
      sim.recorder.event(
        kind: "Job", namespace: j.object.namespace, name: j.object.name, type: .normal,
        reason: "SuccessfulCreate", message: "Created pod: \(name)")
    }
  }

  private func finish(_ i: Int, complete: Bool, reason: String, message: String) {
    let j = jobs[i]
    j.finished = (complete, reason, sim.now)
    sim.recorder.event(
      kind: "Job", namespace: j.object.namespace, name: j.object.name,
      type: complete ? .normal : .warning, reason: reason, message: message)
    if let ttl = j.object.ttlSecondsAfterFinished {
      arm(i, .expire, at: sim.now + .seconds(ttl))
    } else if let t = j.timer {
      sim.engine.cancel(t)
      j.timer = nil
    }
    if j.cronJob >= 0 { sim.cronJobs.jobFinished(Int(j.cronJob), job: i) }
  }

  private func publish(_ i: Int, active: Int) {
    let j = jobs[i]
    j.active = active
    sim.recorder.set(series: j.series, active)
    sim.recorder.set(series: j.series + 1, j.succeeded)
    sim.recorder.set(series: j.series + 2, j.failed)
  }
}
