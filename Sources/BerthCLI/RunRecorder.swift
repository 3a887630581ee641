import BerthCore
import BerthScheduling
import BerthTraces
import Foundation
import Histogram

/// What `berth schedule` reports of a `SchedulingRun`: outcomes, per-cycle latency, score
/// dumps, the explanation of one pod, and agreement with recorded placements.
final class RunRecorder {
  /// The run whose cycles are recorded.
  let run: SchedulingRun
  /// One per profile, sharing the cluster and their cycle state.
  var schedulers: [Scheduler] { run.schedulers }
  let cluster: Cluster
  let scoresPods: Int
  /// The score plugins of all profiles by name, first appearance first: the score dump's columns.
  private let scoreColumns: [PluginName]
  private(set) var outcomes: [ScheduleOutcome] = []
  private var latencyNanos = Histogram<UInt64>(
    highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
  private var evaluatedTotal = 0
  private var messages: [String: Int] = [:]
  private var firstMessage: [String: String] = [:]
  /// Per pod row, the message of its latest failed cycle (queue runs report pods, not cycles).
  private var lastFailure: [Int: String] = [:]
  private(set) var scoreRows = ""
  private(set) var explained = false
  private var agreement = (
    same: 0, tiedTop: 0, lower: 0, outsideWindow: 0, infeasible: 0, unschedulable: 0, missing: 0
  )

  init(run: SchedulingRun, scoresPods: Int) {
    self.run = run
    let schedulers = run.schedulers
    cluster = run.cluster
    self.scoresPods = scoresPods
    var columns: [PluginName] = []
    for s in schedulers {
      for p in s.scorePlugins where !columns.contains(p.name) { columns.append(p.name) }
    }
    scoreColumns = columns
    outcomes.reserveCapacity(cluster.pods.count)
    if scoresPods > 0 {
      // A profile without one of the columns' plugins leaves that cell empty.
      scoreRows =
        "pod,node,total," + columns.map(\.rawValue).joined(separator: ",")
        + (schedulers.count > 1 ? ",profile" : "") + "\n"
    }
  }

  /// The scheduler of the pod's profile.
  func schedulerOf(_ pod: PodID) -> Scheduler { run.scheduler(of: pod) }

  /// A cycle the queue ran: its latency and outcome (the pod is already bound on success).
  func recordCycle(_ pod: PodID, _ outcome: ScheduleOutcome, nanos: UInt64) {
    latencyNanos.record(nanos)
    record(pod, outcome)
  }

  /// One direct cycle for `pod` (its scores dumped or explained first when asked).
  func schedule(_ pod: PodID, explain: Bool) {
    let dump = outcomes.count < scoresPods
    let outcome = run.attempt(pod, bind: !(dump || explain))
    latencyNanos.record(run.lastCycleNanos)
    if dump || explain {
      if dump { dumpScores(pod, outcome) }
      if explain { printExplanation(pod, outcome) }
      if let node = outcome.node { run.bind(pod, to: node) }
    }
    record(pod, outcome)
  }

  func record(_ pod: PodID, _ outcome: ScheduleOutcome) {
    evaluatedTotal += outcome.evaluatedNodes
    if outcome.node == nil {
      let message = schedulerOf(pod).diagnose(pod).message
      messages[message, default: 0] += 1
      if firstMessage[message] == nil { firstMessage[message] = cluster.pods.name(pod) }
      lastFailure[pod.index] = message
    }
    outcomes.append(outcome)
  }

  /// Replay: score the pod as Berth would (dumping the scores of the first `scoresPods`
  /// followed pods, the conformance workflow), then bind it where the recording says.
  func follow(_ pod: PodID, recorded: String?) {
    let scheduler = schedulerOf(pod)
    let outcome = run.attempt(pod, bind: false)
    latencyNanos.record(run.lastCycleNanos)
    if outcomes.count < scoresPods { dumpScores(pod, outcome) }
    var placed = outcome
    switch recorded {
    case nil:
      agreement.missing += 1
      placed.node = nil
    case "unschedulable"?:
      agreement.unschedulable += 1
      placed.node = nil
    case let name?:
      guard let node = cluster.nodes.id(named: name) else {
        agreement.missing += 1
        placed.node = nil
        break
      }
      let fits = scheduler.check(pod, on: node) == nil
      if outcome.node == node {
        agreement.same += 1
      } else if !fits {
        agreement.infeasible += 1
      } else if let top = outcome.topScore, scheduler.lastFeasibleRows.contains(node.index) {
        if scheduler.total[node.index] == top {
          agreement.tiedTop += 1
        } else {
          agreement.lower += 1
        }
      } else {
        agreement.outsideWindow += 1
      }
      placed.node = fits ? node : nil
      if fits { run.bind(pod, to: node) }
    }
    record(pod, placed)
  }

  private func dumpScores(_ pod: PodID, _ outcome: ScheduleOutcome) {
    guard outcome.topScore != nil else { return }
    let scheduler = schedulerOf(pod)
    let name = cluster.pods.name(pod)
    let plugin = scoreColumns.map { c in scheduler.scorePlugins.firstIndex { $0.name == c } }
    for row in scheduler.lastFeasibleRows {
      var line = "\(name),\(cluster.nodes.names[row]),\(scheduler.total[row])"
      for p in plugin {
        line += ","
        if let p {
          line += "\(scheduler.normalizedScore(plugin: p, row: row) * scheduler.scoreWeights[p])"
        }
      }
      if schedulers.count > 1 { line += ",\(scheduler.profile.schedulerName)" }
      scoreRows += line + "\n"
    }
  }

  func printExplanation(_ pod: PodID, _ outcome: ScheduleOutcome) {
    explained = true
    let scheduler = schedulerOf(pod)
    print(
      "explain \(cluster.pods.name(pod))"
        + (schedulers.count > 1 ? " (profile \(scheduler.profile.schedulerName))" : "") + ":")
    print(
      "  evaluated \(outcome.evaluatedNodes) of \(cluster.nodes.count) nodes, \(outcome.feasibleNodes) feasible"
    )
    let d = scheduler.diagnose(pod)
    for (plugin, count) in d.rejectedBy {
      print("  filter \(plugin.rawValue): rejected \(count) node(s)")
      for (reason, n) in d.reasonsByPlugin.first(where: { $0.plugin == plugin })?.reasons ?? [] {
        print("    \(n) \(reason)")
      }
    }
    printSpread(pod)
    printAffinity(pod)
    guard outcome.topScore != nil else {
      print(
        "  result: \(outcome.node.map { "only feasible node \(cluster.nodes.name($0))" } ?? "unschedulable: \(d.message)")"
      )
      return
    }
    let rows = scheduler.lastFeasibleRows.sorted {
      (scheduler.total[$0], -$0) > (scheduler.total[$1], -$1)
    }
    let names = scheduler.scorePlugins.map(\.name.rawValue)
    print(
      "  top nodes (weighted scores; weights "
        + zip(names, scheduler.scoreWeights).map { "\($0)=\($1)" }.joined(separator: " ") + "):")
    for row in rows.prefix(10) {
      let parts = scheduler.scorePlugins.indices.map {
        "\(names[$0]) \(scheduler.normalizedScore(plugin: $0, row: row) * scheduler.scoreWeights[$0])"
      }
      print(
        "    \(cluster.nodes.names[row]) total \(scheduler.total[row]): "
          + parts.joined(separator: ", "))
    }
    print("  chosen: \(outcome.node.map { cluster.nodes.name($0) } ?? "-")")
  }

  /// Each spread constraint with the matching pods per domain, e.g.
  /// `DoNotSchedule zone maxSkew 5: moon-1 4, moon-2 3, moon-3 3`.
  private func printSpread(_ pod: PodID) {
    for e in schedulerOf(pod).explainSpread(pod) {
      let c = e.constraint
      let kind =
        (c.doNotSchedule ? "DoNotSchedule" : "ScheduleAnyway")
        + (e.systemDefault ? " (system default)" : "")
      let counts = e.domains.map {
        "\($0.value.isEmpty ? "(no \(c.topologyKey))" : $0.value) \($0.matching)"
      }
      let shown =
        counts.prefix(12).joined(separator: ", ")
        + (counts.count > 12 ? ", … \(counts.count - 12) more" : "")
      print(
        "  spread \(kind) \(c.topologyKey) maxSkew \(c.maxSkew), matching pods per domain: \(counts.isEmpty ? "no domain" : shown)"
      )
    }
  }

  /// Each affinity term bearing on the pod with the counted pods per domain, e.g.
  /// `affinity: required anti-affinity kubernetes.io/hostname, matching pods per domain: n1 1`.
  private func printAffinity(_ pod: PodID) {
    for e in schedulerOf(pod).explainAffinity(pod) {
      let counts = e.domains.map { "\($0.value) \($0.count)" }
      let shown =
        counts.prefix(12).joined(separator: ", ")
        + (counts.count > 12 ? ", … \(counts.count - 12) more" : "")
      let what = e.role.hasPrefix("bound") ? "holders" : "matching pods"
      let weight = e.weight.map { " weight \($0)" } ?? ""
      print(
        "  affinity: \(e.role) \(e.topologyKey)\(weight), \(what) per domain: \(counts.isEmpty ? "none" : shown)"
      )
    }
  }

  /// Virtual-time results of a queue run: pending time percentiles overall and per priority,
  /// and preemptions.
  private func reportQueue(_ run: QueueRun, classNames: [Int32: String]) {
    let pods = cluster.pods
    print("virtual time: \(run.now) at the end")
    func line(_ label: String, _ waits: [Int64], pendingLeft: Int) -> String {
      let sorted = waits.sorted()
      func pct(_ q: Double) -> String {
        guard !sorted.isEmpty else { return "-" }
        // Nearest rank.
        let rank = max(1, Int((q / 100 * Double(sorted.count)).rounded(.up)))
        return VirtualTime(nanoseconds: sorted[rank - 1]).description
      }
      return
        "\(label): \(sorted.count) bound, p50 \(pct(50))  p90 \(pct(90))  p99 \(pct(99))  max \(pct(100))"
        + (pendingLeft > 0 ? ", \(pendingLeft) still pending" : "")
    }
    let waits = run.pendingTimes()
    print(
      "pending time (virtual) "
        + line("all pods", waits.map(\.wait.nanoseconds), pendingLeft: run.stillPending.count))
    let priorities = Set(
      (0..<pods.count).filter { pods.createdAt[$0] != PodTable.never }.map { pods.priority[$0] })
    if priorities.count > 1 {
      for prio in priorities.sorted(by: >) {
        let label = "priority \(prio)" + (classNames[prio].map { " (\($0))" } ?? "")
        let w = waits.filter { pods.priority[$0.pod.index] == prio }.map(\.wait.nanoseconds)
        let left = run.stillPending.filter { pods.priority[$0.index] == prio }.count
        print("  " + line(label, w, pendingLeft: left))
      }
    }
    let victims = run.preemptions.reduce(0) { $0 + $1.decision.victims.count }
    let violations = run.preemptions.reduce(0) { $0 + $1.decision.pdbViolations }
    print(
      "preemptions: \(run.preemptions.count)  victims: \(victims)  PodDisruptionBudget violations: \(violations)"
    )
  }

  /// Each pod's final node in a queue run ("unschedulable" if never bound, "preempted" if evicted).
  func finalPlacements(_ run: QueueRun) -> [(pod: String, node: String)] {
    let c = cluster
    return (0..<c.pods.count).map { p in
      let id = PodID(UInt32(p))
      let place: String
      if c.pods.deletedAt[p] != PodTable.never {
        place = "preempted"
      } else {
        place = c.pods.boundNode(id).map { c.nodes.name($0) } ?? "unschedulable"
      }
      return (c.pods.name(id), place)
    }
  }

  func placements() -> [(pod: String, node: String)] {
    outcomes.map { o in
      (cluster.pods.name(o.pod), o.node.map { cluster.nodes.name($0) } ?? "unschedulable")
    }
  }

  func report(
    wall: Duration, following: Bool, queue: QueueRun? = nil, classNames: [Int32: String] = [:]
  ) {
    let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
    let pods = outcomes.count
    var messages = self.messages
    var firstMessage = self.firstMessage
    if let queue {
      let table = cluster.pods
      let bound = (0..<table.count).filter {
        table.scheduledAt[$0] != PodTable.never && table.deletedAt[$0] == PodTable.never
      }.count
      let preempted = (0..<table.count).filter { table.deletedAt[$0] != PodTable.never }.count
      let pending = queue.stillPending.count - queue.queue.gatedCount
      print(
        "scheduled: \(bound)  pending: \(pending)  gated: \(queue.queue.gatedCount)  preempted: \(preempted)  (\(pods) scheduling cycles)"
      )
      // Unschedulable messages of the pods still pending, by their latest attempt.
      messages = [:]
      firstMessage = [:]
      for p in queue.stillPending {
        guard let m = lastFailure[p.index] else { continue }
        messages[m, default: 0] += 1
        if firstMessage[m] == nil { firstMessage[m] = cluster.pods.name(p) }
      }
    } else {
      let scheduled = outcomes.filter { $0.node != nil }.count
      print("scheduled: \(scheduled)  unschedulable: \(pods - scheduled)")
    }
    let rate = seconds > 0 ? Double(pods) / seconds : 0
    print(
      String(
        format: "wall time: %.3f s  throughput: %.0f \(queue == nil ? "pods" : "cycles")/s",
        seconds, rate))
    func us(_ p: Double) -> String {
      String(format: "%.1f", Double(latencyNanos.valueAtPercentile(p)) / 1000)
    }
    print(
      "latency per \(queue == nil ? "pod" : "cycle") (µs): p50 \(us(50))  p90 \(us(90))  p99 \(us(99))  max \(String(format: "%.1f", Double(latencyNanos.max) / 1000))"
    )
    print(
      String(
        format: "nodes evaluated per \(queue == nil ? "pod" : "cycle"): %.1f",
        pods > 0 ? Double(evaluatedTotal) / Double(pods) : 0))
    let byCount = messages.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
    for (message, count) in byCount.prefix(5) {
      print("unschedulable (\(count) pod(s), first \(firstMessage[message]!)): \(message)")
    }
    if byCount.count > 5 { print("… and \(byCount.count - 5) other distinct messages") }
    if let queue { reportQueue(queue, classNames: classNames) }
    if following {
      let a = agreement
      print(
        "replay: Berth's choice \(a.same), tied at Berth's top score \(a.tiedTop), lower Berth score \(a.lower), "
          + "outside Berth's window \(a.outsideWindow), infeasible for Berth \(a.infeasible), "
          + "recorded unschedulable \(a.unschedulable), not in recording \(a.missing)")
    }
  }
}

/// A progress bar on stderr, only on a terminal and only once a run has taken a second.
final class Progress: @unchecked Sendable {
  let total: Int
  let label: String
  let unit: String
  let enabled: Bool
  let started = DispatchTime.now().uptimeNanoseconds
  var lastDraw: UInt64 = 0

  init(total: Int, label: String = "", unit: String = "pods", enabled: Bool = true) {
    self.total = total
    self.unit = unit
    self.label = label.isEmpty ? "" : label + " "
    self.enabled = enabled && isatty(2) != 0
  }

  private let lock = NSLock()

  /// Safe to call from several threads.
  func update(_ done: Int) {
    guard enabled, done & 255 == 0 || total < 10_000 else { return }
    lock.lock()
    defer { lock.unlock() }
    let now = DispatchTime.now().uptimeNanoseconds
    guard now - started > 1_000_000_000, now - lastDraw > 100_000_000 else { return }
    lastDraw = now
    let width = 40
    let filled = total > 0 ? width * done / total : width
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    FileHandle.standardError.write(Data("\r\(label)[\(bar)] \(done)/\(total) \(unit)".utf8))
  }

  func finish() {
    if enabled && lastDraw != 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
  }
}

/// A line on stderr while a large input loads, only on a terminal and only once loading has
/// taken a second: the nodes and pods read so far, redrawn five times a second from a
/// background thread (the readers only count).
final class LoadingLine: @unchecked Sendable {
  private let label: String
  private let counts: LoadProgress
  private let timer: DispatchSourceTimer?
  private let started = DispatchTime.now().uptimeNanoseconds
  private let lock = NSLock()
  private var drawn = false
  private var finished = false

  init(_ path: String, counts: LoadProgress) {
    label = path
    self.counts = counts
    guard isatty(2) != 0 else {
      timer = nil
      return
    }
    let t = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
    timer = t
    t.schedule(deadline: .now() + 1, repeating: .milliseconds(200))
    t.setEventHandler { [weak self] in self?.draw() }
    t.resume()
  }

  private func draw() {
    lock.lock()
    defer { lock.unlock() }
    guard !finished else { return }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    let text = String(
      format: "loading %@: %d nodes, %d pods read (%.0f s)", label, counts.nodes, counts.pods,
      seconds)
    FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    drawn = true
  }

  /// Stops drawing and clears the line.
  func finish() {
    timer?.cancel()
    lock.lock()
    defer { lock.unlock() }
    if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    drawn = false
    finished = true
  }
}
