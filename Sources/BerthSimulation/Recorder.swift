import BerthCore
import BerthEngine

/// An event's type, as the API has them.
public enum EventType: String, Sendable {
  case normal = "Normal"
  case warning = "Warning"
}

/// What a simulation writes down as it runs: status fields as a time series (a row whenever a
/// value changes, settled per instant), events, and the cluster's totals; the pod table
/// supplies the per-pod record at the end.
public final class Recorder: Component {
  struct Series {
    var kind: String
    var namespace: String
    var name: String
    var field: String
    /// `kind,namespace,name,field,` as a row of `timeseries.csv` spells it (formatted once).
    var row: [UInt8]
    /// Whether the report draws it: only then are its points kept.
    var charted: Bool
    /// Values are thousandths, written with up to three decimals (`12.5`, `0.125`).
    var decimal = false
  }

  /// The report draws at most this many objects of a kind: the first registered, or for Jobs
  /// the last.
  static let chartedObjects = 10
  /// Per kind, the fields the report draws.
  static let chartedFields: [String: Set<String>] = [
    "Cluster": Set(clusterFields),
    "Deployment": ["availableReplicas", "replicas"],
    "StatefulSet": ["readyReplicas", "updatedReplicas"],
    "DaemonSet": ["numberAvailable", "desiredNumberScheduled"],
    "Job": ["active"],
    "HorizontalPodAutoscaler": ["currentReplicas", "desiredReplicas"],
    "Usage": ["offeredLoad", "servedLoad", "droppedLoad", "latencyP99Seconds", "readyPods"],
    "NodeGroup": ["nodes", "targetSize"],
    "NodePool": ["nodes", "launching"],
    "VerticalPodAutoscaler": [
      "targetCpuMillis", "targetMemoryBytes", "lowerBoundMemoryBytes", "upperBoundMemoryBytes",
    ],
  ]
  static let chartsLastObjects: Set<String> = ["Job"]

  let startTime: Int64
  /// Whether the outputs' text is kept — `events.jsonl` lines, `timeseries.csv` rows and the
  /// report's points; events are counted and values settled either way. A run that writes no
  /// outputs keeps none of it: it was half of a long run's memory.
  @exclusivity(unchecked) public var keepsOutputs = true
  /// timeseries.csv's resolution (`--timeseries-interval`; 0: every change): the changes
  /// within one interval (counted from time 0) make at most one row per series — its last
  /// value — stamped with the interval's last instant at which anything changed.
  @exclusivity(unchecked) public var timeseriesInterval: Int64 = 0
  // SAFETY: the simulation owns its recorder and outlives it (a weak reference would give it a
  // side table, and every retain of the simulation the slow path).
  private unowned(unsafe) var sim: Simulation?
  /// The simulation's clock, read per change: through `sim`, each read retained and released
  /// the simulation.
  private var engine: Unmanaged<Engine>?
  @exclusivity(unchecked) private var series: [Series] = []
  /// Per object (kind, namespace, name), its first series; lookups only.
  @exclusivity(unchecked) private var seriesIndex: [String: Int] = [:]
  /// Per kind, each object's first series in registration order; lookups only.
  @exclusivity(unchecked) private var objectsOfKind: [String: [Int]] = [:]
  // Per series: the value last written, the instant's value, and whether it is in
  // `pendingList`. Columns, not arrays: written on every change, an array in a class was
  // checked for sharing at each write.
  private let written = Column<Int64>(repeating: 0, count: 0)
  private let pending = Column<Int64>(repeating: 0, count: 0)
  private let isPending = Column<Bool>(repeating: false, count: 0)
  @exclusivity(unchecked) private var pendingList: [Int] = []
  @exclusivity(unchecked) private var pendingTime = VirtualTime.zero
  /// Per series, the settled values written: (ns, value), for the report's charts.
  @exclusivity(unchecked) private(set) var points: [[(time: Int64, value: Int64)]] = []
  /// `timeseries.csv` rows so far.
  @exclusivity(unchecked) private var timeseriesBytes = Array(
    "time_s,kind,namespace,name,field,value\n".utf8)
  @exclusivity(unchecked) private var eventBytes: [UInt8] = []
  /// `pods.csv` rows so far: a pod's row is written when its table row is released (the pods
  /// still present at the end follow, by row).
  @exclusivity(unchecked) private var podBytes = Array((SimulationOutputs.podsHeader + "\n").utf8)
  /// Where `timeseries.csv` and `events.jsonl` go as they grow (`stream(timeseries:events:)`);
  /// nil: they are held in memory.
  private var timeseriesSink: (([UInt8]) -> Void)?
  private var eventSink: (([UInt8]) -> Void)?
  private var podSink: (([UInt8]) -> Void)?
  /// The text handed to a sink at a time.
  private var chunk = 1 << 20
  /// `timeseries.csv` so far (only what was not streamed).
  public var timeseries: String { String(decoding: timeseriesBytes, as: UTF8.self) }
  /// `events.jsonl` so far (only what was not streamed).
  public var events: String { String(decoding: eventBytes, as: UTF8.self) }
  /// `pods.csv` so far (only what was not streamed; complete after `Simulation.finish`).
  public var pods: String { String(decoding: podBytes, as: UTF8.self) }
  /// Whether `timeseries.csv`, `events.jsonl` and `pods.csv` go to sinks rather than memory.
  public var streamsText: Bool { timeseriesSink != nil }

  /// Sends `timeseries.csv`, `events.jsonl` and `pods.csv` to the sinks in order, in chunks
  /// of about `chunk` bytes (a mebibyte), instead of keeping them: a week-long run writes
  /// gigabytes of rows. Call before the run; `finish()` hands over the last chunks.
  public func stream(
    timeseries: @escaping ([UInt8]) -> Void, events: @escaping ([UInt8]) -> Void,
    pods: @escaping ([UInt8]) -> Void, chunk: Int = 1 << 20
  ) {
    self.chunk = max(chunk, 1)
    timeseriesSink = timeseries
    eventSink = events
    podSink = pods
    drain(force: true)
  }

  /// Hands full chunks (or, forced, whatever there is) to the sinks.
  private func drain(force: Bool) {
    if let sink = timeseriesSink, timeseriesBytes.count >= (force ? 1 : chunk) {
      sink(timeseriesBytes)
      timeseriesBytes.removeAll(keepingCapacity: true)
    }
    if let sink = eventSink, eventBytes.count >= (force ? 1 : chunk) {
      sink(eventBytes)
      eventBytes.removeAll(keepingCapacity: true)
    }
    if let sink = podSink, podBytes.count >= (force ? 1 : chunk) {
      sink(podBytes)
      podBytes.removeAll(keepingCapacity: true)
    }
  }
  @exclusivity(unchecked) public private(set) var eventCount = 0
  /// Events per reason, in order of first use: a handful of reasons, compared by value (the
  /// callers pass literals, so equal strings are mostly bit-identical and compare at once).
  @exclusivity(unchecked) private var reasonCounts: [(reason: String, count: Int)] = []
  /// Per reason (as `reasonCounts`): whether it is a Warning, and the whole virtual seconds in
  /// which it happened, each once — what the report's event strip draws, kept whether or not
  /// the event lines are.
  @exclusivity(unchecked) private var reasonWarning: [Bool] = []
  @exclusivity(unchecked) private var reasonSeconds: [[Int32]] = []
  /// Events per reason.
  public var reasons: [String: Int] {
    Dictionary(reasonCounts.map { ($0.reason, $0.count) }, uniquingKeysWith: +)
  }

  // The cluster's totals.
  @exclusivity(unchecked) private var podState: [UInt8] = []
  @exclusivity(unchecked) private var totals = Totals()
  /// Whether `totals` changed since they were last set into their series: they are set once
  /// per instant, when it ends.
  @exclusivity(unchecked) private var totalsChanged = false
  @exclusivity(unchecked) private var clusterSeries = -1

  struct Totals {
    var pods = 0
    var pending = 0
    var running = 0
    var cpu: Int64 = 0
    var memory: Int64 = 0
    var nodes = 0
    var readyNodes = 0
  }

  init(startTime: Int64) { self.startTime = startTime }

  func attach(_ sim: Simulation) {
    self.sim = sim
    engine = .passUnretained(sim.engine)
    series(kind: "Cluster", namespace: "-", name: "-", fields: Self.clusterFields)
    clusterSeries = seriesIndex[Self.key("Cluster", "-", "-")]!
  }

  static let clusterFields = [
    "nodes", "readyNodes", "pods", "pendingPods", "runningPods", "requestedCpuMillis",
    "requestedMemoryBytes",
  ]

  public var name: String { "recorder" }
  public var watches: ClusterChangeKinds { [.assignedPodAdded, .assignedPodDeleted] }

  public func observe(_ change: ClusterChange, _ engine: Engine) {
    guard let pods = sim?.cluster.pods else { return }
    beginChange()
    switch change {
    case .assignedPodAdded(let p):
      totals.cpu += pods.requestCPU[p.index]
      totals.memory += pods.requestMemory[p.index]
    case .assignedPodDeleted(let p):
      totals.cpu -= pods.requestCPU[p.index]
      totals.memory -= pods.requestMemory[p.index]
    default: return
    }
    totalsChanged = true
  }

  static func key(_ kind: String, _ namespace: String, _ name: String) -> String {
    kind + "\u{0}" + namespace + "\u{0}" + name
  }

  // SAFETY: the simulation's engine lives as long as the simulation, which outlives this.
  private var now: VirtualTime { engine?._withUnsafeGuaranteedRef(\.now) ?? .zero }

  /// Registers an object's status fields; each gets a row with 0 now.
  /// - Returns: the first field's series; field k is that plus k (for `set(series:_:)`).
  @discardableResult
  func series(
    kind: String, namespace: String, name: String, fields: [String],
    decimals: Set<String> = []
  ) -> Int {
    let key = Self.key(kind, namespace, name)
    if let first = seriesIndex[key] {
      for k in fields.indices { set(first + k, 0) }
      return first
    }
    let first = series.count
    seriesIndex[key] = first
    let ordinal = objectsOfKind[kind, default: []].count
    objectsOfKind[kind, default: []].append(first)
    let chartedFields = Self.chartedFields[kind] ?? []
    let chartsLast = Self.chartsLastObjects.contains(kind)
    if chartsLast, ordinal >= Self.chartedObjects {
      // The object that just left the last few is no longer drawn.
      var k = objectsOfKind[kind]![ordinal - Self.chartedObjects]
      let old = series[k]
      while k < series.count, series[k].kind == old.kind, series[k].namespace == old.namespace,
        series[k].name == old.name
      {
        series[k].charted = false
        points[k] = []
        k += 1
      }
    }
    for f in fields {
      var row: [UInt8] = []
      for part in [kind, namespace, Self.csv(name), f] {
        Self.append(part, to: &row)
        row.append(UInt8(ascii: ","))
      }
      series.append(
        Series(
          kind: kind, namespace: namespace, name: name, field: f, row: row,
          charted: chartedFields.contains(f) && (chartsLast || ordinal < Self.chartedObjects),
          decimal: decimals.contains(f)))
      written.append(Int64.min)
      points.append([])
      pending.append(0)
      isPending.append(false)
      set(series.count - 1, 0)
    }
    return first
  }

  /// A new value of one series (from `series(kind:namespace:name:fields:)`).
  func set(series id: Int, _ value: Int) { set(id, Int64(value)) }

  /// A new value of a decimal series, kept to three decimals.
  func set(series id: Int, decimal value: Double) {
    let v = (value * 1000).rounded()
    set(id, v.isFinite ? Int64(max(-9e18, min(9e18, v))) : 0)
  }

  /// New values of an object's fields (in the order they were registered).
  func set(kind: String, namespace: String, name: String, values: [Int], fields: [String]) {
    guard let first = seriesIndex[Self.key(kind, namespace, name)] else { return }
    for (k, v) in values.enumerated() { set(first + k, Int64(v)) }
  }

  private func set(_ id: Int, _ value: Int64) {
    beginChange()
    pending[id] = value
    if !isPending[id] {
      isPending[id] = true
      pendingList.append(id)
    }
  }

  /// Called before anything recorded changes: when the instant moved on, the one that ended is
  /// written first.
  private func beginChange() {
    guard now != pendingTime else { return }
    if timeseriesInterval > 0
      && now.nanoseconds / timeseriesInterval == pendingTime.nanoseconds / timeseriesInterval
    {
      pendingTime = now
      return
    }
    flush()
    if timeseriesSink != nil { drain(force: false) }
    pendingTime = now
  }

  /// Writes the rows of the instant that ended: the totals if they changed, then each series
  /// whose settled value differs from the last written.
  private func flush() {
    if totalsChanged {
      totalsChanged = false
      publishTotals()
    }
    guard !pendingList.isEmpty else { return }
    var t: [UInt8] = []
    Self.appendSeconds(pendingTime.nanoseconds, to: &t)
    t.append(UInt8(ascii: ","))
    for id in pendingList {
      isPending[id] = false
      let value = pending[id]
      guard value != written[id] else { continue }
      written[id] = value
      guard keepsOutputs else { continue }
      if series[id].charted { points[id].append((pendingTime.nanoseconds, value)) }
      timeseriesBytes.append(contentsOf: t)
      timeseriesBytes.append(contentsOf: series[id].row)
      if series[id].decimal {
        Self.appendThousandths(value, to: &timeseriesBytes)
      } else {
        Self.append(value, to: &timeseriesBytes)
      }
      timeseriesBytes.append(UInt8(ascii: "\n"))
    }
    pendingList.removeAll(keepingCapacity: true)
  }

  /// Thousandths as a decimal: `12500` → `12.5`, `-125` → `-0.125`, `3000` → `3`.
  static func appendThousandths(_ value: Int64, to bytes: inout [UInt8]) {
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    let m = value.magnitude
    append(Int64(m / 1000), to: &bytes)
    var frac = m % 1000
    guard frac != 0 else { return }
    bytes.append(UInt8(ascii: "."))
    var digits = 3
    while frac % 10 == 0 {
      frac /= 10
      digits -= 1
    }
    var text = Array(String(frac).utf8)
    while text.count < digits { text.insert(UInt8(ascii: "0"), at: 0) }
    bytes.append(contentsOf: text)
  }

  /// An integer's decimal digits.
  static func append(_ value: Int64, to bytes: inout [UInt8]) {
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    var v = value.magnitude
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits fit in 24 bytes
    // SAFETY: at most 20 digits are written into the 24 bytes, from the end.
    withUnsafeMutableBytes(of: &digits) { buf in
      var i = buf.count
      repeat {
        i -= 1
        buf[i] = UInt8(ascii: "0") + UInt8(v % 10)
        v /= 10
      } while v != 0
      bytes.append(contentsOf: buf[i...])
    }
  }

  /// Seconds with millisecond precision (`12.345`).
  static func seconds(_ t: VirtualTime) -> String { seconds(t.nanoseconds) }

  /// `seconds(_:)`'s digits, appended.
  static func appendSeconds(_ ns: Int64, to bytes: inout [UInt8]) {
    let ms = ns >= 0 ? ns / 1_000_000 : (ns - 999_999) / 1_000_000
    let whole = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)
    let frac = ms - whole * 1000
    append(whole, to: &bytes)
    bytes.append(UInt8(ascii: "."))
    bytes.append(UInt8(ascii: "0") + UInt8(frac / 100))
    bytes.append(UInt8(ascii: "0") + UInt8(frac / 10 % 10))
    bytes.append(UInt8(ascii: "0") + UInt8(frac % 10))
  }

  static func seconds(_ ns: Int64) -> String {
    var bytes: [UInt8] = []
    appendSeconds(ns, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
  }

  static func csv(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else {
      return s
    }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  // MARK: Events

  /// An event; its message (and a pod event's names) are only worked out when event lines are
  /// kept.
  func event(
    kind: String, namespace: String, name: String, type: EventType, reason: String,
    message: @autoclosure () -> String
  ) {
    guard count(reason, type) else { return }
    append(kind: kind, namespace: namespace, name: name, type: type, reason: reason)
    appendQuoted(message())
    append("}\n")
  }

  /// Counts an event of `reason`; returns whether its line is kept.
  private func count(_ reason: String, _ type: EventType) -> Bool {
    eventCount += 1
    let k: Int
    if let found = reasonCounts.firstIndex(where: { $0.reason == reason }) {
      k = found
      reasonCounts[k].count += 1
    } else {
      k = reasonCounts.count
      reasonCounts.append((reason, 1))
      reasonWarning.append(type == .warning)
      reasonSeconds.append([])
    }
    let second = Int32(clamping: now.nanoseconds / 1_000_000_000)
    if reasonSeconds[k].last != second { reasonSeconds[k].append(second) }
    return keepsOutputs
  }

  /// Every reason so far, sorted: whether it is a Warning, how many events, and the distinct
  /// whole seconds they happened in.
  var eventTimeline: [(reason: String, warning: Bool, count: Int, seconds: [Int32])] {
    reasonCounts.indices.map {
      (reasonCounts[$0].reason, reasonWarning[$0], reasonCounts[$0].count, reasonSeconds[$0])
    }.sorted { $0.reason < $1.reason }
  }

  /// An event line up to its message.
  private func append(
    kind: String, namespace: String, name: String, type: EventType, reason: String
  ) {
    eventBytes.append(contentsOf: "{\"time_s\":".utf8)
    Self.appendSeconds(now.nanoseconds, to: &eventBytes)
    append(",\"kind\":")
    appendQuoted(kind)
    append(",\"namespace\":")
    appendQuoted(namespace)
    append(",\"name\":")
    appendQuoted(name)
    append(
      type == .normal ? ",\"type\":\"Normal\",\"reason\":" : ",\"type\":\"Warning\",\"reason\":")
    appendQuoted(reason)
    append(",\"message\":")
  }

  static func append(_ s: String, to bytes: inout [UInt8]) {
    var s = s
    s.withUTF8 { bytes.append(contentsOf: $0) }
  }

  private func append(_ s: String) {
    var s = s
    s.withUTF8 { eventBytes.append(contentsOf: $0) }
  }

  /// A JSON string: plain bytes copied as they are, the rest escaped.
  private func appendQuoted(_ s: String) {
    var s = s
    let plain = s.withUTF8 { bytes in
      !bytes.contains {
        $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 >= 0x7f
      }
    }
    if plain {
      eventBytes.append(UInt8(ascii: "\""))
      s.withUTF8 { eventBytes.append(contentsOf: $0) }
      eventBytes.append(UInt8(ascii: "\""))
    } else {
      var quoted = ""
      ObjectDocument.quote(s, into: &quoted)
      append(quoted)
    }
  }

  func event(
    pod: PodID, in sim: Simulation, type: EventType, reason: String,
    message: @autoclosure () -> String
  ) {
    guard count(reason, type) else { return }
    append(
      kind: "Pod", namespace: sim.namespace(pod), name: sim.name(pod), type: type, reason: reason)
    appendQuoted(message())
    append("}\n")
  }

  // MARK: Totals

  func podCreated(_ pod: PodID) {
    while podState.count <= pod.index { podState.append(0) }
    beginChange()
    totals.pods += 1
    totalsChanged = true
    podPhaseMayChange(pod)
  }

  /// 0: gone or unknown; 1: pending; 2: running; 3: finished.
  func podPhaseMayChange(_ pod: PodID) {
    guard let sim, pod.index < podState.count else { return }
    let state: UInt8
    if sim.isGone(pod) {
      state = 0
    } else {
      switch sim.cluster.pods.phase(of: pod) {
      case .pending: state = 1
      case .running: state = 2
      default: state = 3
      }
    }
    let old = podState[pod.index]
    guard old != state else { return }
    beginChange()
    if old == 1 { totals.pending -= 1 }
    if old == 2 { totals.running -= 1 }
    if state == 1 { totals.pending += 1 }
    if state == 2 { totals.running += 1 }
    podState[pod.index] = state
    totalsChanged = true
  }

  func podRemoved(_ pod: PodID) {
    guard pod.index < podState.count else { return }
    podPhaseMayChange(pod)
    beginChange()
    totals.pods -= 1
    totalsChanged = true
  }

  func nodesChanged(_ nodes: NodeLifecycle) {
    beginChange()
    totals.nodes = nodes.nodeCount
    totals.readyNodes = nodes.readyCount
    totalsChanged = true
  }

  /// Sets the totals into their series, within the instant being flushed.
  private func publishTotals() {
    guard clusterSeries >= 0 else { return }
    let t = totals
    let c = clusterSeries
    for (k, v) in [
      Int64(t.nodes), Int64(t.readyNodes), Int64(t.pods), Int64(t.pending), Int64(t.running),
      t.cpu, t.memory,
    ].enumerated() {
      pending[c + k] = v
      if !isPending[c + k] {
        isPending[c + k] = true
        pendingList.append(c + k)
      }
    }
  }

  /// A pod's row is about to hold another pod: its `pods.csv` row is written now.
  func podReleased(_ pod: PodID) {
    guard let sim, keepsOutputs else { return }
    SimulationOutputs.appendPodRow(sim, pod.index, to: &podBytes)
  }

  /// The run ended: the last instant's rows are written, and the rows of the pods the table
  /// still holds.
  func finish(_ sim: Simulation) {
    flush()
    if keepsOutputs {
      let pods = sim.cluster.pods
      for p in 0..<pods.count where !pods.isReleased(PodID(UInt32(p))) {
        SimulationOutputs.appendPodRow(sim, p, to: &podBytes)
      }
    }
    drain(force: true)
  }

  var totalsNow: Totals { totals }

  /// The series of an object's field, if registered.
  func seriesID(kind: String, namespace: String, name: String, field: String) -> Int? {
    guard let first = seriesIndex[Self.key(kind, namespace, name)] else { return nil }
    var k = first
    while k < series.count, series[k].kind == kind, series[k].namespace == namespace,
      series[k].name == name
    {
      if series[k].field == field { return k }
      k += 1
    }
    return nil
  }

  /// Every registered object of a kind, in registration order.
  func objects(kind: String) -> [(namespace: String, name: String)] {
    (objectsOfKind[kind] ?? []).map { (series[$0].namespace, series[$0].name) }
  }
}
