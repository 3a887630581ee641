import BerthCore
import BerthEngine
import BerthTraces
import BerthWorkloads

/// A CronJob as its controller sees it.
final class CronJobState {
  @exclusivity(unchecked) var object: CronJobObject
  /// Its Jobs (indices into the Job controller's), oldest first.
  @exclusivity(unchecked) var jobs: [Int] = []
  /// `status.lastScheduleTime`, Unix seconds.
  @exclusivity(unchecked) var lastSchedule: Int64?
  @exclusivity(unchecked) var timer: TimerHandle?
  @exclusivity(unchecked) var deleted = false

  init(object: CronJobObject) { self.object = object }
}

/// The CronJob controller (`pkg/controller/cronjob`): a Job at every time the schedule names
/// (in its time zone), named `<cronjob>-<minutes since 1970>`; the concurrency policy against
/// Jobs still running; the history limits on finished Jobs.
final class CronJobController: Component {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) var rng: SplitMix64
  @exclusivity(unchecked) var cronJobs: [CronJobState] = []
  @exclusivity(unchecked) private var index = ObjectIndex()

  init(_ sim: Simulation, rng: SplitMix64) {
    self.sim = sim
    self.rng = rng
  }

  var name: String { "cronjob-controller" }

  func find(namespace: String, name: String) -> Int? {
    index[namespace, name].flatMap { cronJobs[$0].deleted ? nil : $0 }
  }

  /// The virtual wall clock, Unix seconds (whole seconds, as cron schedules count).
  private var wallNow: Int64 {
    sim.scenario.startTime + sim.now.nanoseconds / 1_000_000_000
  }

  func apply(_ object: CronJobObject) {
    let i: Int
    if let k = find(namespace: object.namespace, name: object.name) {
      i = k
      cronJobs[i].object = object
    } else {
      cronJobs.append(CronJobState(object: object))
      i = cronJobs.count - 1
      index[object.namespace, object.name] = i
    }
    // Upstream looks for the first activation after the CronJob's creation: one due at the
    // very instant it is created does not run.
    arm(i, after: wallNow)
  }

  func delete(_ i: Int) {
    let c = cronJobs[i]
    guard !c.deleted else { return }
    c.deleted = true
    index[c.object.namespace, c.object.name] = nil
    if let t = c.timer { sim.engine.cancel(t) }
    for j in c.jobs { sim.jobs.delete(j) }
  }

  /// The next activation strictly after `after` (Unix seconds).
  private func arm(_ i: Int, after: Int64) {
    let c = cronJobs[i]
    if let t = c.timer { sim.engine.cancel(t) }
    c.timer = nil
    guard let next = c.object.schedule.next(after: after, in: c.object.zone) else { return }
    let at = VirtualTime(nanoseconds: (next - sim.scenario.startTime) * 1_000_000_000)
    guard at >= sim.now else { return }
    c.timer = sim.engine.schedule(self, at: at, payload: UInt64(i), daemon: true)
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let i = Int(t.payload)
    let c = cronJobs[i]
    c.timer = nil
    guard !c.deleted else { return }
    let scheduled = wallNow
    defer { arm(i, after: scheduled) }
    guard !c.object.suspend else { return }
    let ns = c.object.namespace
    let active = c.jobs.filter { sim.jobs.jobs[$0].finished == nil && !sim.jobs.jobs[$0].deleted }
    if !active.isEmpty {
      switch c.object.concurrencyPolicy {
      case .allow: break
      case .forbid:
        sim.recorder.event(
          kind: "CronJob", namespace: ns, name: c.object.name, type: .normal,
          reason: "JobAlreadyActive",
          message:
            "Not starting job because prior execution is running and concurrency policy is Forbid")
        return
      case .replace:
        for j in active {
          sim.jobs.delete(j)
          sim.recorder.event(
            kind: "CronJob", namespace: ns, name: c.object.name, type: .normal,
            reason: "SuccessfulDelete", message: "Deleted job \(sim.jobs.jobs[j].object.name)")
        }
      }
    }
    let name = c.object.name + "-" + String(scheduled / 60)
    guard sim.jobs.find(namespace: ns, name: name) == nil else { return }
    let job: JobObject
    do throws(InputError) {
      guard
        case .job(let j) = try WorkloadObject.read(
          c.object.jobDocument(name: name), origin: "CronJob \(ns)/\(c.object.name)")
      else { return }
      job = j
    } catch {
      sim.recorder.event(
        kind: "CronJob", namespace: ns, name: c.object.name, type: .warning,
        reason: "FailedCreate", message: "Error creating job: \(error.description)")
      return
    }
    let k = sim.jobs.apply(job, owner: Int32(i))
    c.jobs.append(k)
    c.lastSchedule = scheduled
    sim.recorder.event(
      kind: "CronJob", namespace: ns, name: c.object.name, type: .normal,
      reason: "SuccessfulCreate", message: "Created job \(name)")
  }

  /// One of its Jobs finished: say so, and keep only the history the limits allow.
  func jobFinished(_ i: Int, job: Int) {
    let c = cronJobs[i]
    let j = sim.jobs.jobs[job]
    guard let f = j.finished else { return }
    let ns = c.object.namespace
    sim.recorder.event(
      kind: "CronJob", namespace: ns, name: c.object.name, type: .normal,
      reason: "SawCompletedJob",
      message:
        "Saw completed job: \(j.object.name), condition: \(f.complete ? "Complete" : "Failed")")
    c.jobs.removeAll { sim.jobs.jobs[$0].deleted }
    for complete in [true, false] {
      let limit =
        complete ? c.object.successfulJobsHistoryLimit : c.object.failedJobsHistoryLimit
      let finished = c.jobs.filter { sim.jobs.jobs[$0].finished?.complete == complete }
      // Oldest start first (`byJobStartTime`), ties by name.
      let ordered = finished.sorted { a, b in
        let x = sim.jobs.jobs[a]
        let y = sim.jobs.jobs[b]
        let sx = x.started ?? x.created
        let sy = y.started ?? y.created
        return sx != sy ? sx < sy : x.object.name < y.object.name
      }
      for k in ordered.prefix(Swift.max(0, ordered.count - limit)) {
        sim.jobs.delete(k)
        sim.recorder.event(
          kind: "CronJob", namespace: ns, name: c.object.name, type: .normal,
          reason: "SuccessfulDelete", message: "Deleted job \(sim.jobs.jobs[k].object.name)")
      }
    }
    c.jobs.removeAll { sim.jobs.jobs[$0].deleted }
  }
}
