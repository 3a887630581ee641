import BerthCore
import BerthScheduling
import BerthTraces
import CBerthSystem
import Foundation
import Histogram

/// Where heap allocations are counted from; nil when no counter is loaded.
public struct AllocationCounter: Sendable {
  public var read: @Sendable () -> Int?
  public init(read: @escaping @Sendable () -> Int?) { self.read = read }
  public static let none = AllocationCounter { nil }
}

public struct RunOptions: Sendable {
  public var seed: UInt64
  /// Throughput window, as scheduler_perf's one-second samples.
  public var throughputWindowNanos: UInt64 = 1_000_000_000
  public var allocations: AllocationCounter = .none
  /// Count the measured region's instructions with callgrind's client requests (the process
  /// runs under `valgrind --tool=callgrind --instr-atstart=no`): counting runs only while pods
  /// are measured, and the run ends with a dump labelled with the workload's id.
  public var countInstructions = false
  public init(seed: UInt64) { self.seed = seed }
}

/// Runs one workload: setup ops unmeasured, measured pods timed one scheduling cycle at a time.
public final class WorkloadRunner {
  let suite: Suite
  let testCase: TestCase
  let workload: Workload
  let options: RunOptions
  let cluster = Cluster()
  /// The run's kube-scheduler: direct, or through the queue in queue test cases.
  let scheduling: SchedulingRun
  var rng: SplitMix64
  let clock = ContinuousClock()

  // Measurement state.
  var collecting = false
  var latencyNanos = Histogram<UInt64>(
    highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
  var completionNanos: [UInt64] = []
  /// Monotonic nanoseconds (`MonotonicClock`): reading them costs no Duration arithmetic.
  var measureStart: UInt64?
  var measuredNanos: UInt64 = 0
  var measuredPods = 0
  /// Scheduling cycles measured (equals `measuredPods` without the queue).
  var measuredCycles = 0
  /// Queue test cases: the queue that owns virtual time, and which pods are measured.
  var queueRun: QueueRun? { scheduling.queue }
  var measuredPod: [Bool] = []
  var measuredScheduled = 0
  var evaluatedNodes = 0
  var allocations = 0
  var allocationsMeasured = true
  var checksum: UInt64 = 0xCBF2_9CE4_8422_2325
  var bound: [PodID] = []
  var boundIndex: [Int] = []
  var churn: (every: Int, create: Int, delete: Int, source: ObjectSource)?
  /// Services created so far: (namespace, selector), for the default spreading selector.
  var services: [(namespace: String, selector: [String: String]?)] = []
  var sinceChurn = 0
  var createdPods = 0
  var createdNodes = 0
  /// Told the measured pods so far, every 128 pods.
  public var progress: ((Int) -> Void)?

  public init(suite: Suite, testCase: TestCase, workload: Workload, options: RunOptions) {
    self.suite = suite
    self.testCase = testCase
    self.workload = workload
    self.options = options
    let root = SplitMix64(seed: workload.seed ?? options.seed).split(
      label: "bench/\(suite.name)/\(testCase.name)/\(workload.name)")
    rng = root.split(label: "ops")
    var schedulerSeed = root.split(label: "scheduler")
    var preemptionSeed = root.split(label: "preemption")
    scheduling = SchedulingRun(
      cluster: cluster, profiles: [testCase.profile], seed: schedulerSeed.next(),
      mode: testCase.queue ? .queued(QueueSettings(), seed: preemptionSeed.next()) : .direct)
    if testCase.queue {
      // SAFETY: the run is this runner's and does not outlive it.
      scheduling.onCycle = { [unowned(unsafe) self] pod, outcome, _, nanos in
        self.queuedCycle(pod, outcome, nanos: nanos)
      }
    }
  }

  /// `suite/testCase/workload`, as `WorkloadResult.id`.
  var workloadID: String {
    WorkloadResult.id(suite: suite.name, testCase: testCase.name, workload: workload.name)
  }

  /// Pods the workload's ops will create, for progress bars.
  public var plannedPods: Int {
    workload.ops.reduce(0) { total, op in
      if case .createPods(let n, _, _, _) = op { return total + n }
      return total
    }
  }

  public func run() throws(InputError) -> WorkloadResult {
    PeakMemory.reset()
    let started = clock.now
    if options.countInstructions { berth_instructions_zero() }
    for (index, op) in workload.ops.enumerated() {
      switch op {
      case .createNodes(let count, let source, let zones):
        cluster.addNodes(makeNodes(count, source: source, zones: zones, op: index))
      case .createNamespaces(let prefix, let count, let labels):
        for i in 0..<count { cluster.declareNamespace("\(prefix)-\(i)", labels: labels) }
      case .createService(let namespace, let selector):
        services.append((namespace, selector))
      case .createPods(let count, let source, let collectMetrics, let namespace):
        let wasCollecting = collecting
        if collectMetrics { startCollecting() }
        if let q = queueRun {
          for pod in try addPods(count, source: source, op: index, namespace: namespace) {
            markMeasured(pod, collecting)
            if collecting { measuredPods += 1 }
            q.submit(pod, at: q.now)
          }
          let before = collecting ? options.allocations.read() : nil
          q.run()
          if collecting {
            if let before, let after = options.allocations.read() {
              allocations += after - before
            } else {
              allocationsMeasured = false
            }
          }
        } else if churn == nil {
          for pod in try addPods(count, source: source, op: index, namespace: namespace) {
            schedule(pod)
          }
        } else {
          // Churn creates pods between cycles: each measured pod is added just before its cycle.
          for spec in makePods(count, source: source, op: index) {
            let pod = try add(placed(spec, namespace: namespace))
            schedule(pod)
          }
        }
        if collectMetrics && !wasCollecting { stopCollecting() }
      case .churn(let every, let create, let delete, let source):
        churn = (every, create, delete, source)
        sinceChurn = 0
      case .deletePods(let count):
        deleteRandomPods(count)
      case .updateNodes(let count, let patch):
        updateRandomNodes(count, patch)
      case .barrier:
        break
      case .startCollectingMetrics:
        startCollecting()
      case .stopCollectingMetrics:
        stopCollecting()
      }
    }
    if collecting { stopCollecting() }
    if options.countInstructions { berth_instructions_dump(workloadID) }
    let problems = cluster.invariantViolations()
    precondition(
      problems.isEmpty,
      "benchmark left an inconsistent cluster: \(problems.prefix(3).map(\.description))")
    return result(wall: clock.now - started)
  }

  // MARK: Ops

  func makeNodes(_ count: Int, source: ObjectSource, zones: [String], op: Int) -> [NodeSpec] {
    var specs: [NodeSpec]
    switch source {
    case .mix(let mix):
      specs = SyntheticCluster.generate(nodes: count, pods: 0, seed: rng.next(), mix: mix).nodes
    case .nodeTemplate(let template):
      specs = Array(repeating: template, count: count)
    case .podTemplate:
      preconditionFailure("createNodes takes a node template")
    }
    for i in specs.indices {
      let name = "node-\(op)-\(createdNodes + i)"
      specs[i].name = name
      specs[i].labels["kubernetes.io/hostname"] = name
      if !zones.isEmpty { specs[i].labels["topology.kubernetes.io/zone"] = zones[i % zones.count] }
    }
    createdNodes += count
    return specs
  }

  func makePods(_ count: Int, source: ObjectSource, op: Int) -> [PodSpec] {
    var specs: [PodSpec]
    switch source {
    case .mix(let mix):
      specs = SyntheticCluster.generate(nodes: 0, pods: count, seed: rng.next(), mix: mix).pods
    case .podTemplate(let template):
      specs = Array(repeating: template, count: count)
    case .nodeTemplate:
      preconditionFailure("createPods takes a pod template")
    }
    for i in specs.indices { specs[i].name = "pod-\(op)-\(createdPods + i)" }
    createdPods += count
    return specs
  }

  /// Adds `count` pending pods of the op, as `makePods` names them. Pods of a template are
  /// added in bulk (the spec resolved once), as scheduler_perf's client creates them before the
  /// scheduler pops them.
  func addPods(_ count: Int, source: ObjectSource, op: Int, namespace: String?) throws(InputError)
    -> [PodID]
  {
    guard case .podTemplate(let template) = source else {
      var ids: [PodID] = []
      for spec in makePods(count, source: source, op: op) {
        ids.append(try add(placed(spec, namespace: namespace)))
      }
      return ids
    }
    let first = createdPods
    createdPods += count
    let spec = placed(template, namespace: namespace)
    do {
      return try cluster.addPods(spec, count: count, namePrefix: "pod-\(op)-", firstNumber: first)
        .map { PodID(UInt32($0)) }
    } catch {
      throw InputError(
        file: suite.file, field: "\(testCase.name)/\(workload.name) pod pod-\(op)-\(first)",
        error.description)
    }
  }

  /// The pod in `namespace` (when given), selected by the Services of its namespace.
  func placed(_ spec: PodSpec, namespace: String?) -> PodSpec {
    var spec = spec
    if let namespace { spec.namespace = namespace }
    if !services.isEmpty {
      let selectors = services.filter { $0.namespace == spec.namespace }.map(\.selector)
      spec.defaultSpreadSelector = PodSpec.defaultSpreadSelector(
        labels: spec.labels, serviceSelectors: selectors, owner: nil)
    }
    return spec
  }

  func add(_ spec: PodSpec) throws(InputError) -> PodID {
    do { return try cluster.addPod(spec) } catch {
      throw InputError(
        file: suite.file, field: "\(testCase.name)/\(workload.name) pod \(spec.name)",
        error.description)
    }
  }

  func schedule(_ pod: PodID) {
    let allocBefore = collecting ? options.allocations.read() : nil
    let outcome = scheduling.attempt(pod)
    cycle(outcome, scheduling.lastCycleNanos)
    if collecting {
      if let before = allocBefore, let after = options.allocations.read() {
        allocations += after - before
      } else {
        allocationsMeasured = false
      }
    }
    mix(pod: pod, node: outcome.node)
    if outcome.node != nil { track(bound: pod) }
    if let c = churn {
      sinceChurn += 1
      if sinceChurn >= c.every {
        sinceChurn = 0
        churnStep(c)
      }
    }
  }

  /// One direct cycle's latency and completion, while measuring.
  func cycle(_ outcome: ScheduleOutcome, _ nanos: UInt64) {
    guard collecting else { return }
    latencyNanos.record(nanos)
    completionNanos.append(scheduling.lastCycleEnd &- measureStart!)
    measuredPods += 1
    measuredCycles += 1
    evaluatedNodes += outcome.evaluatedNodes
    if outcome.node != nil { measuredScheduled += 1 }
    if measuredPods & 127 == 0 { progress?(measuredPods) }  // a bar redraws at most every 100 ms
  }

  /// One cycle the queue ran: latency, completion of measured pods, the placements checksum, and
  /// churn after every `every` measured pods bound.
  func queuedCycle(_ pod: PodID, _ outcome: ScheduleOutcome, nanos: UInt64) {
    let t1 = scheduling.lastCycleEnd
    if collecting {
      latencyNanos.record(nanos)
      measuredCycles += 1
      evaluatedNodes += outcome.evaluatedNodes
      if outcome.node != nil && pod.index < measuredPod.count && measuredPod[pod.index] {
        measuredScheduled += 1
        completionNanos.append(t1 &- measureStart!)
        if measuredScheduled & 127 == 0 { progress?(measuredScheduled) }
      }
    }
    mix(pod: pod, node: outcome.node)
    guard outcome.node != nil else { return }
    track(bound: pod)
    if let c = churn, pod.index < measuredPod.count, measuredPod[pod.index] {
      sinceChurn += 1
      if sinceChurn >= c.every {
        sinceChurn = 0
        churnStep(c)
      }
    }
  }

  private func track(bound pod: PodID) {
    if pod.index >= boundIndex.count {
      boundIndex.append(
        contentsOf: repeatElement(
          -1, count: max(pod.index + 1, cluster.pods.count) - boundIndex.count))
    }
    boundIndex[pod.index] = bound.count
    bound.append(pod)
  }

  /// Deletes `delete` random bound pods and creates `create` unmeasured pods: scheduled at once,
  /// or in a queue test case put straight into the queue (ahead of the measured pods when of
  /// higher priority), as scheduler_perf's churn op creates pods while measured ones wait.
  func churnStep(_ c: (every: Int, create: Int, delete: Int, source: ObjectSource)) {
    deleteRandomPods(c.delete)
    let saved = churn
    churn = nil  // pods created by churn do not trigger more churn
    let wasCollecting = collecting
    collecting = false  // nor are they measured
    for spec in makePods(c.create, source: c.source, op: 9_999) {
      guard let pod = try? add(placed(spec, namespace: nil)) else { continue }
      if let q = queueRun {
        markMeasured(pod, false)
        q.arriveNow(pod)
      } else {
        schedule(pod)
      }
    }
    collecting = wasCollecting
    churn = saved
  }

  private func markMeasured(_ pod: PodID, _ measured: Bool) {
    measuredPod.append(
      contentsOf: repeatElement(false, count: max(0, pod.index + 1 - measuredPod.count)))
    measuredPod[pod.index] = measured
  }

  /// Patches `count` distinct random nodes (seeded; all of them when there are fewer) and, in a
  /// queue test case, runs the queue on: the pods the updates may help are retried.
  func updateRandomNodes(_ count: Int, _ patch: NodePatch) {
    var rows = Array(0..<cluster.nodes.count)
    for k in 0..<min(count, rows.count) {
      rows.swapAt(k, k + rng.nextInt(below: rows.count - k))
      let node = NodeID(UInt32(rows[k]))
      let spec = patch.applied(to: cluster.nodes.specs[node.index])
      if let q = queueRun {
        q.updateNode(node, to: spec)
      } else {
        cluster.updateNode(node, to: spec)
      }
    }
    queueRun?.run()
  }

  /// Deletes `count` random bound pods (seeded); pods the queue's preemption already deleted
  /// leave the list as they are met.
  func deleteRandomPods(_ count: Int) {
    var deleted = 0
    while deleted < count && !bound.isEmpty {
      let k = rng.nextInt(below: bound.count)
      let pod = bound[k]
      let last = bound.removeLast()
      if k < bound.count {
        bound[k] = last
        boundIndex[last.index] = k
      }
      boundIndex[pod.index] = -1
      guard cluster.pods.isBound(pod) else { continue }
      if let q = queueRun { q.deleteNow(pod) } else { cluster.unbind(pod) }
      deleted += 1
    }
  }

  /// FNV-1a over (pod row, node row or all ones), in scheduling order.
  func mix(pod: PodID, node: NodeID?) {
    mix(UInt64(pod.rawValue))
    mix(UInt64(node?.rawValue ?? UInt32.max))
  }

  private func mix(_ word: UInt64) {
    for shift in stride(from: 0, to: 64, by: 8) {
      checksum ^= (word >> UInt64(shift)) & 0xFF
      checksum &*= 0x0000_0100_0000_01B3
    }
  }

  func startCollecting() {
    guard !collecting else { return }
    collecting = true
    if options.countInstructions { berth_instructions_resume() }
    // Resume: completion times continue from where the last collection stopped.
    measureStart = MonotonicClock.nanoseconds() &- measuredNanos
  }

  func stopCollecting() {
    guard collecting, let start = measureStart else { return }
    measuredNanos = MonotonicClock.nanoseconds() &- start
    collecting = false
    if options.countInstructions { berth_instructions_pause() }
  }

  // MARK: Result

  func result(wall: Duration) -> WorkloadResult {
    let seconds = Double(measuredNanos) / 1e9
    let average = seconds > 0 ? Double(measuredPods) / seconds : 0
    let windows = Self.windowThroughputs(completionNanos, window: options.throughputWindowNanos)
    func pct(_ p: Double) -> Double {
      guard !windows.isEmpty else { return average }
      let sorted = windows.sorted()
      let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
      return sorted[min(max(rank, 0), sorted.count - 1)]
    }
    func us(_ p: Double) -> Double {
      measuredCycles == 0 ? 0 : Double(latencyNanos.valueAtPercentile(p)) / 1000
    }
    var cpu: [Double] = []
    var mem: [Double] = []
    var used = 0
    let n = cluster.nodes
    for i in 0..<n.count {
      if n.podCount[i] > 0 { used += 1 }
      if n.allocatableCPU[i] > 0 {
        cpu.append(Double(n.requestedCPU[i]) / Double(n.allocatableCPU[i]))
      }
      if n.allocatableMemory[i] > 0 {
        mem.append(Double(n.requestedMemory[i]) / Double(n.allocatableMemory[i]))
      }
    }
    var r = WorkloadResult(
      suite: suite.name, testCase: testCase.name, workload: workload.name, labels: workload.labels,
      params: workload.params, measuredPods: measuredPods,
      throughput: .init(
        average: average, p50: pct(50), p90: pct(90), p99: pct(99), windows: windows.count),
      latency: .init(
        p50: us(50), p90: us(90), p99: us(99),
        max: measuredCycles == 0 ? 0 : Double(latencyNanos.max) / 1000),
      nodesEvaluatedPerPod: measuredCycles == 0
        ? 0 : Double(evaluatedNodes) / Double(measuredCycles),
      allocationsPerCycle: allocationsMeasured && measuredCycles > 0
        ? Double(allocations) / Double(measuredCycles) : nil,
      peakRSSBytes: PeakMemory.bytes(), placementsChecksum: MetricValue.hex(checksum),
      outcome: .init(
        nodes: n.count, pods: cluster.pods.count, scheduled: measuredScheduled,
        unschedulable: measuredPods - measuredScheduled,
        nodesUsed: used, cpuUtilization: .init(cpu), memoryUtilization: .init(mem)),
      thresholds: [], measuredSeconds: seconds, wallSeconds: wall.seconds)
    r.judge(workload.thresholds)
    return r
  }

  /// Pods completed per window of `window` ns, full windows only; the last partial window
  /// counts when it covers at least half a window.
  public static func windowThroughputs(_ completions: [UInt64], window: UInt64) -> [Double] {
    guard let last = completions.last, window > 0 else { return [] }
    var counts = [Int](repeating: 0, count: Int(last / window) + 1)
    for t in completions { counts[Int(t / window)] += 1 }
    var rates = counts.dropLast().map { Double($0) * 1e9 / Double(window) }
    let tail = last % window
    if tail >= window / 2 { rates.append(Double(counts.last!) * 1e9 / Double(tail)) }
    return rates
  }
}

extension Duration {
  var nanoseconds: Int64 {
    components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
  }
  public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Peak resident memory per workload: Linux's high-water mark (VmHWM), reset before each
/// workload by writing 5 to /proc/self/clear_refs; the process-wide maximum where that fails.
enum PeakMemory {
  static func reset() {
    guard let f = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", f)
    fclose(f)
  }

  static func bytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
      for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
          .flatMap { Int($0) }
        if let kb { return kb * 1024 }
      }
    }
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Int(usage.ru_maxrss) * 1024
  }
}

/// CLOCK_MONOTONIC in nanoseconds: two reads per measured cycle, so no Duration arithmetic.
enum MonotonicClock {
  @inline(__always) static func nanoseconds() -> UInt64 { SchedulingRun.nanoseconds() }
}
