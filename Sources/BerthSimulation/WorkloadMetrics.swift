import BerthAutoscaling
import BerthCore
import BerthEngine
import BerthWorkloads
import Foundation

/// What the pods of the scenario's `usage` entries use, what metrics-server reports of it, and
/// how well their load is served.
///
/// Load: each entry's load is shared equally among its ready pods (or its Service's ready
/// endpoints). Usage per pod, at a scrape instant T: CPU = base + perRequest × share (+ the
/// start-up burst within `startup.duration` of the container's last start), held at the
/// container's CPU limit; memory = base + perRequest × share + leak × hours since that start.
/// A pod not Ready at T receives no load; a container not running uses nothing.
///
/// metrics-server (`--metric-resolution`, 15 s): it scrapes every kubelet at k × resolution; a
/// pod's PodMetrics at T cover the window [T − resolution, T] and exist once its container has
/// run for a whole window (metrics-server needs two cumulative CPU samples), stamped T. The
/// HPA reads the latest scrape.
///
/// Service quality, per entry and scrape interval: each ready pod serves up to
/// (CPU limit, else request − base) / perRequest requests per second; offered load above the
/// ready pods' capacity is dropped. The served requests' latency comes from an M/M/c queue
/// (c ready pods, each serving at that rate): p99 of the response time = service time plus the
/// Erlang-C waiting time's p99; a request is late when its response time exceeds the entry's
/// `latencySLO`, and the interval counts as SLO violation time when any request is dropped or
/// the p99 exceeds the objective.
final class WorkloadMetrics: Component {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  /// The cluster's pod table, read per pod without counting references.
  // SAFETY: the cluster, and its pod table, live as long as the simulation.
  unowned(unsafe) let podTable: PodTable
  let specs: [UsageSpec]
  let loads: [LoadSeries]
  let resolution: VirtualTime
  /// Per entry: the Service whose ready endpoints share the load (index into the endpoints'),
  /// or -1 (the entry's own ready pods).
  private var serviceOf: [Int] = []
  /// Per entry: ready pods and running pods, kept as pods change.
  @exclusivity(unchecked) private(set) var readyCount: [Int] = []
  @exclusivity(unchecked) private var runningCount: [Int] = []
  /// Per pod row: 0 not counted, 1 running, 2 running and Ready (as last counted).
  @exclusivity(unchecked) private var state: [UInt8] = []
  /// Per pod row, as last counted: the CPU it serves with (limit, else request; millicores)
  /// and its CPU request. Per entry, their sums over ready and over running pods: pods a VPA
  /// sized differently serve and reserve differently.
  @exclusivity(unchecked) private var counted: [(serve: Int64, request: Int64)] = []
  @exclusivity(unchecked) private var readyServeMilli: [Int64] = []
  @exclusivity(unchecked) private var runningRequestMilli: [Int64] = []
  /// The entries matching a (label set, namespace): lookups only.
  @exclusivity(unchecked) private var matching: [UInt64: Int16] = [:]
  /// Per entry, pods that may be OOM-killed (a memory limit and memory that grows): checked at
  /// every scrape.
  @exclusivity(unchecked) private var oomCandidates: [[PodID]] = []
  /// The last scrape: its instant, each entry's share per ready pod and its load.
  @exclusivity(unchecked) private(set) var scrapeTime = VirtualTime(nanoseconds: -1)
  @exclusivity(unchecked) private(set) var shareAtScrape: [Double] = []
  @exclusivity(unchecked) private(set) var loadAtScrape: [Double] = []
  /// Per template: the main container's CPU and memory limits (0: none) and the pod's CPU
  /// request (what one pod serves with).
  @exclusivity(unchecked) private var templateLimits:
    [Int32: (cpu: Int64, memory: Int64, cpuRequest: Int64, mainCPURequest: Int64)] = [:]
  /// Per entry, the usage model's numbers (read per pod per scrape: no strings to retain).
  struct Numbers {
    var cpuBaseMilli: Int64
    var cpuPerRequestMilli: Double
    var memoryBaseBytes: Int64
    var memoryPerRequestBytes: Double
    var memoryLeakBytesPerHour: Int64
    var startupCPUMilli: Int64
    var startupDuration: Int64
    var latencySLO: Double
    var timeout: Double
    var load: Int
  }
  private let numbers: [Numbers]
  /// Per entry: its usage trace, if it replays one; per pod row, the trace series it replays;
  /// per entry, the next series to hand out.
  private let traces: [UsageTrace?]
  @exclusivity(unchecked) private var traceSlot: [Int32] = []
  @exclusivity(unchecked) private var nextSlot: [Int32] = []
  /// Per entry replaying a trace: its pods (their usage is summed for the entry's totals).
  @exclusivity(unchecked) private var tracePods: [[PodID]] = []
  /// Per pod row: its limits as `limits(of:)` gives them, once worked out (`cached`).
  @exclusivity(unchecked) private var podLimits:
    [(cpu: Int64, memory: Int64, cpuRequest: Int64, cached: Bool)] = []
  /// Per entry: the time series and the service-quality totals.
  private var series: [Int] = []
  @exclusivity(unchecked) private(set) var quality: [ServiceQuality] = []

  /// Totals of one entry's service quality over the run.
  struct ServiceQuality {
    var offered = 0.0
    var served = 0.0
    var dropped = 0.0
    var late = 0.0
    var sloViolationSeconds = 0.0
    /// Core-seconds used, and requested by the entry's running pods.
    var usedCoreSeconds = 0.0
    var requestedCoreSeconds = 0.0
    /// SPEC RG's elasticity areas, core-seconds: requested CPU short of, and beyond, what the
    /// offered load needs (its requests' CPU plus the base of the pods that serving it takes).
    var underProvisionedCoreSeconds = 0.0
    var overProvisionedCoreSeconds = 0.0
    /// Intervals in which requests were dropped, joined into episodes: how many, and their
    /// total length (how long the service stayed short after each rise of the load).
    var overloadEpisodes = 0
    var overloadSeconds = 0.0
    var overloaded = false
    /// The per-interval p99 latencies, time-weighted, in log-spaced buckets (1 ms to 100 s).
    var p99Histogram = [Double](repeating: 0, count: 101)

    /// The latency below which 99 % of the run's time had its p99 (an upper bucket edge).
    var p99OfIntervals: Double {
      let total = p99Histogram.reduce(0, +)
      guard total > 0 else { return 0 }
      var seen = 0.0
      for (k, w) in p99Histogram.enumerated() {
        seen += w
        if seen >= 0.99 * total { return ServiceQuality.bucketTop(k) }
      }
      return ServiceQuality.bucketTop(100)
    }

    static func bucket(_ seconds: Double) -> Int {
      guard seconds > 0.001 else { return 0 }
      return min(100, Int((log10(seconds) + 3) * 20) + 1)
    }
    static func bucketTop(_ k: Int) -> Double { k == 0 ? 0.001 : pow(10, Double(k) / 20 - 3) }
  }

  static let fields = [
    "offeredLoad", "servedLoad", "droppedLoad", "latencyP99Seconds", "usedCpuMillis",
    "usedMemoryBytes", "readyPods",
  ]
  /// The fields written with three decimals.
  static let decimalFields: Set<String> = [
    "offeredLoad", "servedLoad", "droppedLoad", "latencyP99Seconds",
  ]

  init(_ sim: Simulation, root: SplitMix64) {
    self.sim = sim
    podTable = sim.cluster.pods
    specs = sim.scenario.usage
    loads = sim.scenario.loads.map {
      var rng = root.split(label: "load:" + $0.name)
      return LoadSeries($0.shape, seed: rng.next())
    }
    resolution = sim.scenario.metricsServer.metricResolution
    traces = specs.map(\.trace)
    tracePods = Array(repeating: [], count: specs.count)
    nextSlot = Array(repeating: 0, count: specs.count)
    numbers = specs.map {
      Numbers(
        cpuBaseMilli: $0.cpuBaseMilli, cpuPerRequestMilli: $0.cpuPerRequestMilli,
        memoryBaseBytes: $0.memoryBaseBytes, memoryPerRequestBytes: $0.memoryPerRequestBytes,
        memoryLeakBytesPerHour: $0.memoryLeakBytesPerHour, startupCPUMilli: $0.startupCPUMilli,
        startupDuration: $0.startupDuration.nanoseconds, latencySLO: $0.latencySLO.seconds,
        timeout: $0.timeout.seconds, load: $0.load)
    }
    readyCount = Array(repeating: 0, count: specs.count)
    runningCount = readyCount
    readyServeMilli = Array(repeating: 0, count: specs.count)
    runningRequestMilli = readyServeMilli
    shareAtScrape = Array(repeating: 0, count: specs.count)
    loadAtScrape = Array(repeating: 0, count: loads.count)
    oomCandidates = Array(repeating: [], count: specs.count)
    quality = Array(repeating: ServiceQuality(), count: specs.count)
    for (i, u) in specs.enumerated() {
      var k = -1
      if let name = u.service {
        k =
          sim.endpoints.services.firstIndex {
            $0.name == name && $0.namespace == (u.namespace ?? "default")
          } ?? -1
      }
      serviceOf.append(k)
      series.append(
        sim.recorder.series(
          kind: "Usage", namespace: u.namespace ?? "default", name: Self.name(of: i, sim.scenario),
          fields: Self.fields, decimals: Self.decimalFields))
    }
  }

  /// An entry's name in the outputs: its load's, else `usage-<i>`.
  static func name(of i: Int, _ s: Scenario) -> String {
    let u = s.usage[i]
    return u.load >= 0 ? s.loads[u.load].name : "usage-\(i)"
  }

  var name: String { "metrics-server" }
  var isActive: Bool { !specs.isEmpty || !loads.isEmpty }

  func start(_ engine: Engine) {
    guard isActive else { return }
    engine.every(resolution, self, first: .zero)
  }

  // MARK: Pods

  /// The entry a new pod belongs to (the first whose selector and namespace match).
  func podCreated(_ pod: PodID) {
    guard !specs.isEmpty else { return }
    let pods = sim.cluster.pods
    let key = UInt64(pods.labels[pod.index]) << 32 | UInt64(pods.namespace[pod.index])
    let entry: Int16
    if let hit = matching[key] {
      entry = hit
    } else {
      let labels = pods.labelSets[pods.labels[pod.index]]
      let namespace = sim.namespace(pod)
      let i = specs.firstIndex {
        ($0.namespace ?? "default") == namespace && $0.selector.matches(labels)
      }
      entry = Int16(i ?? -1)
      matching[key] = entry
    }
    sim.records[pod.index].usage = entry
    while podLimits.count <= pod.index {
      podLimits.append((0, 0, 0, false))
      traceSlot.append(0)
    }
    podLimits[pod.index].cached = false
    guard entry >= 0 else { return }
    if traces[Int(entry)] != nil {
      traceSlot[pod.index] = nextSlot[Int(entry)]
      nextSlot[Int(entry)] &+= 1
      tracePods[Int(entry)].append(pod)
    }
    let u = numbers[Int(entry)]
    if limits(of: pod).memory > 0
      && (u.memoryBaseBytes > 0 || u.memoryPerRequestBytes > 0 || u.memoryLeakBytesPerHour > 0
        || traces[Int(entry)] != nil)
    {
      oomCandidates[Int(entry)].append(pod)
    }
  }

  /// A pod's phase, readiness or deletion may have changed.
  /// `resized`: its resources changed in place (the sums are recounted).
  func podChanged(_ pod: PodID, resized: Bool = false) {
    let entry = Int(sim.records[pod.index].usage)
    guard entry >= 0 else { return }
    while state.count <= pod.index {
      state.append(0)
      counted.append((0, 0))
    }
    let pods = sim.cluster.pods
    let new: UInt8
    if sim.isGone(pod) || !sim.records[pod.index].running || pods.phase(of: pod).isFinished {
      new = 0
    } else {
      new = sim.isReady(pod) && !pods.isTerminating(pod) ? 2 : 1
    }
    let old = state[pod.index]
    if resized && pod.index < podLimits.count { podLimits[pod.index].cached = false }
    guard new != old || resized else { return }
    state[pod.index] = new
    let was = counted[pod.index]
    if old >= 1 {
      runningCount[entry] -= 1
      runningRequestMilli[entry] -= was.request
    }
    if old == 2 {
      readyCount[entry] -= 1
      readyServeMilli[entry] -= was.serve
    }
    let lim = limits(of: pod)
    let now = (serve: lim.cpu > 0 ? lim.cpu : lim.cpuRequest, request: lim.cpuRequest)
    counted[pod.index] = now
    if new >= 1 {
      runningCount[entry] += 1
      runningRequestMilli[entry] += now.request
    }
    if new == 2 {
      readyCount[entry] += 1
      readyServeMilli[entry] += now.serve
    }
  }

  func podRemoved(_ pod: PodID) {
    podChanged(pod)
    let entry = Int(sim.records[pod.index].usage)
    guard entry >= 0 else { return }
    if let k = oomCandidates[entry].firstIndex(of: pod) { oomCandidates[entry].remove(at: k) }
    if let k = tracePods[entry].firstIndex(of: pod) { tracePods[entry].remove(at: k) }
  }

  /// What is wrong with the kept counts, if anything (recounted from every pod).
  func violation() -> String? {
    var ready = [Int](repeating: 0, count: specs.count)
    var running = ready
    let pods = sim.cluster.pods
    for p in 0..<min(pods.count, sim.records.count) {
      let id = PodID(UInt32(p))
      let entry = Int(sim.records[p].usage)
      guard entry >= 0, !sim.isGone(id), sim.records[p].running, !pods.phase(of: id).isFinished
      else { continue }
      running[entry] += 1
      if sim.isReady(id) && !pods.isTerminating(id) { ready[entry] += 1 }
    }
    guard ready != readyCount || running != runningCount else { return nil }
    return
      "usage counts \(readyCount) ready, \(runningCount) running; pods give \(ready), \(running)"
  }

  /// Empties the limits cache (tests: the paths that find limits uncached).
  func forgetLimits() {
    for r in podLimits.indices { podLimits[r].cached = false }
  }

  /// The main container's limits and the pod's CPU request (as the VPA set them, if it did).
  func limits(of pod: PodID) -> (cpu: Int64, memory: Int64, cpuRequest: Int64) {
    if pod.index < podLimits.count && podLimits[pod.index].cached {
      let l = podLimits[pod.index]
      return (l.cpu, l.memory, l.cpuRequest)
    }
    let out = workOutLimits(of: pod)
    if pod.index < podLimits.count {
      podLimits[pod.index] = (out.cpu, out.memory, out.cpuRequest, true)
    }
    return out
  }

  private func workOutLimits(of pod: PodID) -> (cpu: Int64, memory: Int64, cpuRequest: Int64) {
    let t = sim.records[pod.index].template
    if let own = sim.verticalAutoscaling.resources(of: pod) {
      let base = templateOrSpecLimits(pod, template: t)
      return (own.cpuLimit, own.memoryLimit, base.cpuRequest - base.mainCPURequest + own.cpu)
    }
    let b = templateOrSpecLimits(pod, template: t)
    return (b.cpu, b.memory, b.cpuRequest)
  }

  private func templateOrSpecLimits(_ pod: PodID, template t: Int32) -> (
    cpu: Int64, memory: Int64, cpuRequest: Int64, mainCPURequest: Int64
  ) {
    if let hit = templateLimits[t] { return hit }
    let out = Self.limits(of: sim.podSpec(pod))
    if t >= 0 { templateLimits[t] = out }
    return out
  }

  /// A spec's main-container CPU and memory limits (0: none), its containers' CPU requests
  /// summed, and the main container's.
  static func limits(of spec: PodSpec) -> (
    cpu: Int64, memory: Int64, cpuRequest: Int64, mainCPURequest: Int64
  ) {
    let main = spec.containers.first
    let cpu = (try? main?.limits[ResourceName.cpu]?.milliValue()) ?? 0
    let memory = (try? main?.limits[ResourceName.memory]?.value()) ?? 0
    let mainRequest = (try? main?.requests[ResourceName.cpu]?.milliValue()) ?? 0
    var request: Int64 = 0
    for c in spec.containers { request += (try? c.requests[ResourceName.cpu]?.milliValue()) ?? 0 }
    return (cpu, memory, request, mainRequest)
  }

  // MARK: Usage

  /// The load an entry's ready pods share now: its load over its ready pods (or endpoints).
  func readyPods(_ entry: Int) -> Int {
    let k = serviceOf[entry]
    return k >= 0 ? sim.endpoints.counts(k).ready : readyCount[entry]
  }

  /// A pod's usage at the last scrape: (CPU millicores, memory bytes), nil when it has no
  /// PodMetrics (no usage entry, not running then, or not a whole window yet).
  func sample(_ pod: PodID) -> (cpuMilli: Int64, memoryBytes: Int64)? {
    // SAFETY: `pod` is a pod row, below the records' count; the pointer does not escape.
    sim.records.withUnsafeBufferPointer { sample(pod, record: $0.baseAddress! + pod.index) }
  }

  /// `sample` with the pod's record at hand (a caller walking many pods reads the records
  /// through one pointer instead of the simulation's array each time).
  @inline(__always)
  func sample(_ pod: PodID, record: UnsafePointer<PodRecord>) -> (
    cpuMilli: Int64, memoryBytes: Int64
  )? {
    let entry = Int(record.pointee.usage)
    guard entry >= 0, scrapeTime.nanoseconds >= 0 else { return nil }
    return usage(
      pod, entry: entry, at: scrapeTime, share: shareAtScrape[entry], window: true,
      running: record.pointee.running, started: record.pointee.containerStartedAt)
  }

  func usage(_ pod: PodID, entry: Int, at t: VirtualTime, share: Double, window: Bool) -> (
    cpuMilli: Int64, memoryBytes: Int64
  )? {
    usage(
      pod, entry: entry, at: t, share: share, window: window,
      running: sim.records[pod.index].running, started: sim.records[pod.index].containerStartedAt)
  }

  /// The pod's usage at `t` given its record's `running` and `containerStartedAt`.
  func usage(
    _ pod: PodID, entry: Int, at t: VirtualTime, share: Double, window: Bool, running: Bool,
    started: Int64
  ) -> (cpuMilli: Int64, memoryBytes: Int64)? {
    guard running, started != PodTable.never else { return nil }
    if window && started > t.nanoseconds - resolution.nanoseconds { return nil }
    let pods = podTable
    let p = pod.index
    let readyThen =
      pods.conditions[p] & PodConditions.ready.rawValue != 0 && pods.readyAt[p] <= t.nanoseconds
      && !pods.isTerminating(pod)
    if let trace = traces[entry] {
      return Self.traced(
        trace, series: Int(traceSlot[pod.index]), at: t.nanoseconds, cpuLimit: limits(of: pod).cpu)
    }
    return Self.modelled(
      numbers[entry], share: readyThen ? share : 0, at: t.nanoseconds, started: started,
      cpuLimit: limits(of: pod).cpu)
  }

  /// A replaying pod's usage: its series' sample at `t`, CPU capped at the limit (0: none).
  @inline(__always)
  static func traced(_ trace: UsageTrace, series: Int, at t: Int64, cpuLimit: Int64) -> (
    cpuMilli: Int64, memoryBytes: Int64
  )? {
    guard var v = trace.sample(series, at: t) else { return nil }
    if cpuLimit > 0 { v.cpuMilli = min(v.cpuMilli, cpuLimit) }
    return v
  }

  /// A modelled pod's usage at `t`: base, its share of the load (`share`, 0 unless Ready then),
  /// the startup burst, memory growth since `started`; CPU capped at the limit (0: none).
  @inline(__always)
  static func modelled(_ u: Numbers, share: Double, at t: Int64, started: Int64, cpuLimit: Int64)
    -> (cpuMilli: Int64, memoryBytes: Int64)
  {
    var cpu = Double(u.cpuBaseMilli) + u.cpuPerRequestMilli * share
    if t - started < u.startupDuration { cpu += Double(u.startupCPUMilli) }
    if cpuLimit > 0 { cpu = min(cpu, Double(cpuLimit)) }
    let hours = Double(max(0, t - started)) / 3.6e12
    let memory =
      Double(u.memoryBaseBytes) + u.memoryPerRequestBytes * share
      + Double(u.memoryLeakBytesPerHour) * hours
    return (Int64(cpu.rounded()), Int64(memory.rounded()))
  }

  /// Pods' samples at the last scrape read through pointers taken once (`withSampleReader`):
  /// a loop over many pods retains nothing per pod and writes nothing, so threads may share it.
  /// Limits come from the cache only: a caller checks `limitsCached` first.
  struct SampleReader {
    let scrape: Int64
    let resolution: Int64
    let share: UnsafePointer<Double>
    let numbers: UnsafePointer<Numbers>
    let traces: UnsafePointer<UsageTrace?>
    let traceSlot: UnsafePointer<Int32>
    let limits: UnsafePointer<(cpu: Int64, memory: Int64, cpuRequest: Int64, cached: Bool)>
    let limitCount: Int
    let conditions: UnsafeMutablePointer<UInt8>
    let readyAt: UnsafeMutablePointer<Int64>
    let deletionDueAt: UnsafeMutablePointer<Int64>
    let deletedAt: UnsafeMutablePointer<Int64>

    /// Whether row `row`'s limits are cached (else `sample` must not be asked for it).
    @inline(__always)
    func limitsCached(_ row: Int) -> Bool { row < limitCount && limits[row].cached }

    /// `WorkloadMetrics.sample(_:record:)`, for a pod whose limits are cached.
    @inline(__always)
    func sample(_ pod: PodID, record: UnsafePointer<PodRecord>) -> (
      cpuMilli: Int64, memoryBytes: Int64
    )? {
      let entry = Int(record.pointee.usage)
      guard entry >= 0, scrape >= 0 else { return nil }
      let started = record.pointee.containerStartedAt
      guard record.pointee.running, started != PodTable.never else { return nil }
      if started > scrape - resolution { return nil }
      let p = pod.index
      assert(limitsCached(p), "a sample read without its limits cached")
      if let trace = traces[entry] {
        return WorkloadMetrics.traced(
          trace, series: Int(traceSlot[p]), at: scrape, cpuLimit: limits[p].cpu)
      }
      let readyThen =
        conditions[p] & PodConditions.ready.rawValue != 0 && readyAt[p] <= scrape
        && !(deletionDueAt[p] != PodTable.never && deletedAt[p] == PodTable.never)
      return WorkloadMetrics.modelled(
        numbers[entry], share: readyThen ? share[entry] : 0, at: scrape, started: started,
        cpuLimit: limits[p].cpu)
    }
  }

  /// An empty buffer's address, for a reader that never reads through it.
  // SAFETY: only for empty buffers, whose pointer the reader never dereferences.
  @inline(__always)
  private func orDangling<T>(_ p: UnsafePointer<T>?) -> UnsafePointer<T> {
    p ?? UnsafePointer(bitPattern: MemoryLayout<T>.alignment)!
  }

  /// Calls `body` with a reader of the last scrape's samples, valid while it runs and no pod
  /// is created or changed.
  func withSampleReader<R>(_ body: (SampleReader) -> R) -> R {
    // SAFETY: the pointers are to arrays and columns no one resizes or writes while `body`
    // runs (the caller creates and changes no pod); none escapes.
    shareAtScrape.withUnsafeBufferPointer { share in
      numbers.withUnsafeBufferPointer { numbers in
        traces.withUnsafeBufferPointer { traces in
          traceSlot.withUnsafeBufferPointer { traceSlot in
            podLimits.withUnsafeBufferPointer { limits in
              body(
                SampleReader(
                  scrape: scrapeTime.nanoseconds, resolution: resolution.nanoseconds,
                  share: orDangling(share.baseAddress),
                  numbers: orDangling(numbers.baseAddress),
                  traces: orDangling(traces.baseAddress),
                  traceSlot: orDangling(traceSlot.baseAddress),
                  limits: orDangling(limits.baseAddress),
                  limitCount: limits.count, conditions: podTable.conditions.base,
                  readyAt: podTable.readyAt.base, deletionDueAt: podTable.deletionDueAt.base,
                  deletedAt: podTable.deletedAt.base))
            }
          }
        }
      }
    }
  }

  /// The value of load `i` now (External and Object metrics read it at the reconcile).
  func loadValue(_ i: Int) -> Double { loads[i].value(at: sim.now.nanoseconds) }

  // MARK: Scrapes

  func fire(_ timer: BerthEngine.Timer, _ engine: Engine) {
    let previous = scrapeTime
    let now = sim.now
    scrapeTime = now
    for (i, l) in loads.enumerated() { loadAtScrape[i] = l.value(at: now.nanoseconds) }
    // Taken once: read per entry through the simulation, each retained and released it.
    let recorder = sim.recorder
    let endpoints = sim.endpoints
    // By index: a spec per entry copied out would retain all it holds.
    for i in specs.indices {
      let k = serviceOf[i]
      let ready = k >= 0 ? endpoints!.counts(k).ready : readyCount[i]
      let load = numbers[i].load
      let offered = load >= 0 ? loadAtScrape[load] : 0
      shareAtScrape[i] = ready > 0 ? offered / Double(ready) : 0
      if previous.nanoseconds >= 0 {
        account(
          i, offered: offered, ready: ready, seconds: (now - previous).seconds, recorder: recorder)
      }
      checkMemory(i)
    }
  }

  /// The OOM candidates of entry `i` whose memory is above their limit now are killed.
  private func checkMemory(_ i: Int) {
    guard !oomCandidates[i].isEmpty else { return }
    for pod in oomCandidates[i] {
      guard
        let u = usage(pod, entry: i, at: sim.now, share: shareAtScrape[i], window: false)
      else { continue }
      let limit = limits(of: pod).memory
      if u.memoryBytes > limit {
        sim.kubelet.oomKill(pod, usedBytes: u.memoryBytes, limitBytes: limit)
      }
    }
  }

  /// One interval of entry `i`: served, dropped and late requests, the p99 latency, usage.
  private func account(
    _ i: Int, offered: Double, ready: Int, seconds: Double, recorder: Recorder
  ) {
    let u = numbers[i]
    // What one ready pod serves: its CPU (limit, else request) beyond the base, per request.
    // Pods of unequal sizes serve as that many servers of their mean rate.
    var perPod = Double.infinity
    if u.cpuPerRequestMilli > 0 {
      let serve: Double
      if readyCount[i] > 0 {
        serve = Double(readyServeMilli[i]) / Double(readyCount[i])
      } else {
        let lim = representativeLimits(i)
        serve = Double(lim.cpu > 0 ? lim.cpu : lim.cpuRequest)
      }
      perPod = max(0, serve - Double(u.cpuBaseMilli)) / u.cpuPerRequestMilli
    }
    let q = MMc.evaluate(
      arrival: offered, servers: ready, rate: perPod, slo: u.latencySLO)
    let p99 = min(q.p99, u.timeout)
    let (cpu, memory) = usedNow(i, q.served)
    let supply = Double(runningRequestMilli[i]) / 1000
    var needed = offered * u.cpuPerRequestMilli / 1000
    if perPod.isFinite && perPod > 0 {
      needed += Double(u.cpuBaseMilli) / 1000 * max(1, (offered / perPod).rounded(.up))
    } else {
      needed += Double(u.cpuBaseMilli) / 1000 * Double(max(1, runningCount[i]))
    }
    // One access to the entry's totals: each `quality[i].x +=` would check the array (and its
    // histogram) for sharing anew.
    Self.add(
      &quality[i], offered: offered, served: q.served, late: q.lateFraction * q.served,
      p99: p99, slo: u.latencySLO, usedCores: cpu / 1000, requestedCores: supply,
      neededCores: needed, seconds: seconds)
    let s = series[i]
    recorder.set(series: s, decimal: offered)
    recorder.set(series: s + 1, decimal: q.served)
    recorder.set(series: s + 2, decimal: offered - q.served)
    recorder.set(series: s + 3, decimal: p99)
    recorder.set(series: s + 4, Int(cpu.rounded()))
    recorder.set(series: s + 5, Int(memory.rounded()))
    recorder.set(series: s + 6, ready)
  }

  /// What entry `i`'s running pods use now, serving `served` requests per second: the model's
  /// base per pod plus per request, or the replayed pods' usage summed (millicores, bytes).
  private func usedNow(_ i: Int, _ served: Double) -> (cpu: Double, memory: Double) {
    let u = numbers[i]
    guard traces[i] != nil else {
      let running = Double(runningCount[i])
      return (
        running * Double(u.cpuBaseMilli) + u.cpuPerRequestMilli * served,
        running * Double(u.memoryBaseBytes) + u.memoryPerRequestBytes * served
      )
    }
    var cpu = 0.0
    var memory = 0.0
    for p in tracePods[i] {
      guard let v = usage(p, entry: i, at: sim.now, share: 0, window: false) else { continue }
      cpu += Double(v.cpuMilli)
      memory += Double(v.memoryBytes)
    }
    return (cpu, memory)
  }

  /// Adds one interval of `seconds` to an entry's totals.
  private static func add(
    _ t: inout ServiceQuality, offered: Double, served: Double, late: Double, p99: Double,
    slo: Double, usedCores: Double, requestedCores: Double, neededCores: Double, seconds: Double
  ) {
    t.offered += offered * seconds
    t.served += served * seconds
    t.dropped += (offered - served) * seconds
    t.late += late * seconds
    let dropping = offered - served > 1e-9
    if dropping || p99 > slo { t.sloViolationSeconds += seconds }
    t.p99Histogram[ServiceQuality.bucket(p99)] += seconds
    if dropping {
      if !t.overloaded { t.overloadEpisodes += 1 }
      t.overloadSeconds += seconds
    }
    t.overloaded = dropping
    t.usedCoreSeconds += usedCores * seconds
    t.requestedCoreSeconds += requestedCores * seconds
    t.underProvisionedCoreSeconds += max(0, neededCores - requestedCores) * seconds
    t.overProvisionedCoreSeconds += max(0, requestedCores - neededCores) * seconds
  }

  /// The limits of entry `i`'s pods, as the first of them with a template tells.
  private var representative: [Int: (cpu: Int64, memory: Int64, cpuRequest: Int64)] = [:]
  private func representativeLimits(_ i: Int) -> (cpu: Int64, memory: Int64, cpuRequest: Int64) {
    if let hit = representative[i] { return hit }
    for tmpl in sim.templates where specs[i].selector.matches(tmpl.pod.labels) {
      let l = Self.limits(of: tmpl.pod)
      let out = (l.cpu, l.memory, l.cpuRequest)
      representative[i] = out
      return out
    }
    return (0, 0, 0)
  }
}

/// An M/M/c queue's steady state, for service quality: `servers` pods each serving `rate`
/// requests per second, `arrival` requests per second offered; what exceeds the capacity is
/// dropped (the queue is kept stable at just under full load).
enum MMc {
  struct Result {
    var served: Double
    /// p99 of the response time (service + waiting), seconds; +∞ with no server.
    var p99: Double
    /// The share of served requests slower than the objective.
    var lateFraction: Double
  }

  static func evaluate(arrival: Double, servers c: Int, rate mu: Double, slo: Double) -> Result {
    guard arrival > 0 else { return Result(served: 0, p99: 0, lateFraction: 0) }
    guard c > 0, mu > 0 else { return Result(served: 0, p99: .infinity, lateFraction: 1) }
    guard mu.isFinite else { return Result(served: arrival, p99: 0, lateFraction: 0) }
    let capacity = Double(c) * mu
    let lambda = min(arrival, capacity * 0.999)
    let served = min(arrival, capacity)
    let erlangC = erlangCProbability(servers: c, offered: lambda / mu)
    let drain = Double(c) * mu - lambda
    // P(W > t) = C · e^(−(cμ − λ) t): the waiting time's p99.
    let wait99 = erlangC > 0.01 ? log(erlangC / 0.01) / drain : 0
    let service = 1 / mu
    let p99 = service + wait99
    var late = 0.0
    if slo <= service {
      late = 1
    } else {
      late = min(1, erlangC * exp(-drain * (slo - service)))
    }
    return Result(served: served, p99: p99, lateFraction: late)
  }

  /// Erlang C: the probability an arrival waits, with `servers` servers and `offered` = λ/μ,
  /// by the numerically stable recurrence on Erlang B.
  static func erlangCProbability(servers c: Int, offered a: Double) -> Double {
    guard a < Double(c) else { return 1 }
    var b = 1.0
    for k in 1...c { b = a * b / (Double(k) + a * b) }
    let rho = a / Double(c)
    return b / (1 - rho + rho * b)
  }
}
