/// Pods in struct-of-arrays layout, in arrival order.
///
/// Requests are the effective requests (`PodRequests`), computed once at insertion; the non-zero
/// variant substitutes 100m / 200Mi for unset CPU / memory, for scoring. The pod's constraints
/// (selectors, affinity, tolerations, ports, images) are interned: `constraints[row]` indexes
/// `constraintSets`, shared by every pod of a workload.
///
/// Rows of pods that are gone can be released (`release`) and are then reused by the next pods
/// added, so a long simulation's table holds about as many rows as pods live at once; `count`
/// is the number of rows, `added` the number of pods ever added.
///
/// Invariant: every column has `count` rows.
public final class PodTable {
  /// `node[row]` when the pod is not bound.
  public static let unbound = UInt32.max
  /// A lifecycle time that has not happened.
  public static let never = Int64.min

  @usableFromInline @exclusivity(unchecked) var _count = 0
  /// Rows, released ones included.
  @inlinable public var count: Int { _count }
  /// Pods ever added.
  @exclusivity(unchecked) public private(set) var added = 0
  /// Released rows, reused last-released first.
  @exclusivity(unchecked) private var freeRows: [UInt32] = []
  @exclusivity(unchecked) private var free: [Bool] = []

  public let requestCPU = Column<Int64>(repeating: 0, count: 0)
  public let requestMemory = Column<Int64>(repeating: 0, count: 0)
  public let requestEphemeral = Column<Int64>(repeating: 0, count: 0)
  public let nonZeroCPU = Column<Int64>(repeating: 0, count: 0)
  public let nonZeroMemory = Column<Int64>(repeating: 0, count: 0)
  public let priority = Column<Int32>(repeating: 0, count: 0)
  /// Bound node row, or `PodTable.unbound`.
  public let node = Column<UInt32>(repeating: 0, count: 0)
  /// Index into `constraintSets`.
  public let constraints = Column<UInt32>(repeating: 0, count: 0)
  /// Index into `scalarRequestSets` (0 = requests no scalar resource).
  public let scalarRequests = Column<UInt32>(repeating: 0, count: 0)

  /// GPU-sharing request: devices, milli-GPU per device, accepted models (index into
  /// `gpuModelSets`; entry 0 is "any model"), and the devices assigned at binding (bit i = GPU i).
  public let gpuCount = Column<UInt8>(repeating: 0, count: 0)
  public let gpuMilli = Column<Int16>(repeating: 0, count: 0)
  public let gpuModels = Column<UInt32>(repeating: 0, count: 0)
  public let gpuAssignment = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) public private(set) var gpuModelSets = Interner<[UInt16]>()

  @usableFromInline @exclusivity(unchecked) var _constraintSets = Interner<PodConstraints>()
  @inlinable public var constraintSets: Interner<PodConstraints> { _constraintSets }
  /// `constraintSets` boxed, so a scheduling cycle holds a pod's constraints by one reference.
  @usableFromInline @exclusivity(unchecked) var constraintBoxes: [PodConstraintsBox] = []
  /// Distinct lists of (scalar resource, amount), sorted by resource; entry 0 is empty.
  @usableFromInline @exclusivity(unchecked) var _scalarRequestSets = Interner<[ScalarRequest]>()
  @inlinable public var scalarRequestSets: Interner<[ScalarRequest]> { _scalarRequestSets }

  // Lifecycle (cold: no scheduling cycle reads these). Times are virtual nanoseconds, or
  // `PodTable.never` for what has not happened. Written by the components that own each step —
  // the scheduling queue creates and binds, the kubelet starts, readies and finishes, the
  // garbage collector and evictions delete — and read by everyone (preemption's start times,
  // the recorder's pods.csv).
  /// `PodPhase.code` values.
  public let phase = Column<UInt8>(repeating: 0, count: 0)
  /// When the pod object was created (entered the scheduling queue).
  public let createdAt = Column<Int64>(repeating: 0, count: 0)
  /// When it was bound to a node (the PodScheduled condition).
  public let scheduledAt = Column<Int64>(repeating: 0, count: 0)
  /// `status.startTime`: when the kubelet began running it.
  public let startedAt = Column<Int64>(repeating: 0, count: 0)
  /// When it last became Ready.
  public let readyAt = Column<Int64>(repeating: 0, count: 0)
  /// When its containers finished (phase Succeeded or Failed).
  public let finishedAt = Column<Int64>(repeating: 0, count: 0)
  /// `metadata.deletionTimestamp`: when a graceful deletion will end (set: terminating).
  public let deletionDueAt = Column<Int64>(repeating: 0, count: 0)
  /// When the object was removed.
  public let deletedAt = Column<Int64>(repeating: 0, count: 0)
  /// Container restarts so far.
  public let restarts = Column<Int32>(repeating: 0, count: 0)
  /// `PodConditions` bits.
  public let conditions = Column<UInt8>(repeating: 0, count: 0)

  // Cold.
  @exclusivity(unchecked) private var names: [String] = []
  @usableFromInline @exclusivity(unchecked) var _namespaces = Interner<String>()
  @inlinable public var namespaces: Interner<String> { _namespaces }
  public let namespace = Column<UInt32>(repeating: 0, count: 0)
  @usableFromInline @exclusivity(unchecked) var _labelSets = Interner<[String: String]>()
  @inlinable public var labelSets: Interner<[String: String]> { _labelSets }
  public let labels = Column<UInt32>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var nameIndex: [String: PodID] = [:]
  /// Pods added in bulk, named `prefix` + number; their `names` entries are empty.
  struct NameRun {
    var firstRow: Int
    var count: Int
    var prefix: String
    var firstNumber: Int
  }
  @exclusivity(unchecked) private var nameRuns: [NameRun] = []

  init() {
    _ = _scalarRequestSets.intern([])
    _ = gpuModelSets.intern([])
  }

  public func id(named name: String) -> PodID? {
    if let id = nameIndex[name] { return id }
    for run in nameRuns.reversed() where name.hasPrefix(run.prefix) {
      let digits = name.dropFirst(run.prefix.count)
      guard let k = Int(digits), String(k) == digits, k >= run.firstNumber,
        k - run.firstNumber < run.count
      else { continue }
      return PodID(UInt32(run.firstRow + k - run.firstNumber))
    }
    return nil
  }

  public func name(_ pod: PodID) -> String {
    let stored = names[pod.index]
    guard stored.isEmpty, let run = nameRuns.last(where: { $0.firstRow <= pod.index }),
      pod.index < run.firstRow + run.count
    else { return stored }
    return run.prefix + String(run.firstNumber + pod.index - run.firstRow)
  }
  public func isBound(_ pod: PodID) -> Bool { node[pod.index] != PodTable.unbound }
  public func boundNode(_ pod: PodID) -> NodeID? {
    let n = node[pod.index]
    return n == PodTable.unbound ? nil : NodeID(n)
  }
  public func constraints(of pod: PodID) -> PodConstraints {
    constraintBoxes[Int(constraints[pod.index])].value
  }
  /// The boxed constraint set `id` (see `constraints`).
  @inlinable public func constraintBox(_ id: UInt32) -> PodConstraintsBox {
    constraintBoxes[Int(id)]
  }
  public func scalarRequests(of pod: PodID) -> [ScalarRequest] {
    _scalarRequestSets[scalarRequests[pod.index]]
  }

  func append(
    name: String, namespace ns: String, labels podLabels: [String: String],
    requests: ResourceAmounts,
    nonZero: ResourceAmounts, scalars: [ScalarRequest], priority prio: Int32,
    constraints c: PodConstraints,
    gpu: (count: UInt8, milli: Int16, models: [UInt16]) = (0, 0, [])
  ) -> PodID {
    let r = newRow()
    gpuCount[r] = gpu.count
    gpuMilli[r] = gpu.milli
    gpuModels[r] = gpuModelSets.intern(gpu.models)
    requestCPU[r] = requests.cpuMillis
    requestMemory[r] = requests.memoryBytes
    requestEphemeral[r] = requests.ephemeralStorageBytes
    nonZeroCPU[r] = nonZero.cpuMillis
    nonZeroMemory[r] = nonZero.memoryBytes
    priority[r] = prio
    let cid = _constraintSets.intern(c)
    if Int(cid) == constraintBoxes.count { constraintBoxes.append(PodConstraintsBox(c)) }
    constraints[r] = cid
    scalarRequests[r] = _scalarRequestSets.intern(scalars)
    namespace[r] = _namespaces.intern(ns)
    labels[r] = _labelSets.intern(podLabels)
    return named(r, name)
  }

  /// Adds one pod identical to `row` (unbound, nothing happened yet) named `name`.
  func appendCopy(of row: PodID, name: String) -> PodID {
    let r = newRow()
    let o = row.index
    gpuCount[r] = gpuCount[o]
    gpuMilli[r] = gpuMilli[o]
    gpuModels[r] = gpuModels[o]
    requestCPU[r] = requestCPU[o]
    requestMemory[r] = requestMemory[o]
    requestEphemeral[r] = requestEphemeral[o]
    nonZeroCPU[r] = nonZeroCPU[o]
    nonZeroMemory[r] = nonZeroMemory[o]
    priority[r] = priority[o]
    constraints[r] = constraints[o]
    scalarRequests[r] = scalarRequests[o]
    namespace[r] = namespace[o]
    labels[r] = labels[o]
    return named(r, name)
  }

  /// Makes room in the name index for `more` pods, so loading a large cluster does not rehash
  /// it again and again.
  func reserveNames(_ more: Int) { nameIndex.reserveCapacity(nameIndex.count + more) }

  /// Names a new pod's row.
  private func named(_ r: Int, _ name: String) -> PodID {
    let id = PodID(UInt32(r))
    names[r] = name
    nameIndex[name] = id
    return id
  }

  /// A row for a new pod — a released one if any, else a new last row — unbound, pending,
  /// with nothing happened yet; the caller sets the rest.
  private func newRow() -> Int {
    added += 1
    let r: Int
    // Column by column, no array of columns: this runs once per pod added.
    if let f = freeRows.popLast() {
      r = Int(f)
      free[r] = false
      phase[r] = PodPhase.pending.code
      createdAt[r] = PodTable.never
      scheduledAt[r] = PodTable.never
      startedAt[r] = PodTable.never
      readyAt[r] = PodTable.never
      finishedAt[r] = PodTable.never
      deletionDueAt[r] = PodTable.never
      deletedAt[r] = PodTable.never
      restarts[r] = 0
      conditions[r] = 0
    } else {
      r = _count
      requestCPU.append(0)
      requestMemory.append(0)
      requestEphemeral.append(0)
      nonZeroCPU.append(0)
      nonZeroMemory.append(0)
      priority.append(0)
      constraints.append(0)
      scalarRequests.append(0)
      namespace.append(0)
      labels.append(0)
      gpuModels.append(0)
      gpuCount.append(0)
      gpuMilli.append(0)
      node.append(PodTable.unbound)
      gpuAssignment.append(0)
      names.append("")
      free.append(false)
      phase.append(PodPhase.pending.code)
      createdAt.append(PodTable.never)
      scheduledAt.append(PodTable.never)
      startedAt.append(PodTable.never)
      readyAt.append(PodTable.never)
      finishedAt.append(PodTable.never)
      deletionDueAt.append(PodTable.never)
      deletedAt.append(PodTable.never)
      restarts.append(0)
      conditions.append(0)
      _count += 1
    }
    node[r] = PodTable.unbound
    gpuAssignment[r] = 0
    return r
  }

  /// Frees the row of a pod that is gone for the next pod added: its name no longer finds it.
  /// - Precondition: the pod is unbound and removed; nothing refers to its row any more.
  func release(_ pod: PodID) {
    let r = pod.index
    precondition(!free[r], "a row released twice")
    precondition(!names[r].isEmpty, "rows of pods added in bulk are never released")
    precondition(!isBound(pod) && deletedAt[r] != PodTable.never, "released a pod not gone")
    if nameIndex[names[r]] == pod { nameIndex[names[r]] = nil }
    names[r] = ""
    free[r] = true
    freeRows.append(UInt32(r))
  }

  /// Released rows waiting for a pod.
  public var releasedCount: Int { freeRows.count }

  /// Whether the row was released and holds no pod.
  public func isReleased(_ pod: PodID) -> Bool { free[pod.index] }

  /// Appends `n` pods identical to `row` (unbound) named `prefix` followed by `firstNumber`,
  /// `firstNumber + 1`, …: each column grows by one fill, and the names are a run that
  /// `name(_:)` and `id(named:)` compute rather than store.
  /// - Returns: the new rows.
  func appendCopies(of row: PodID, count n: Int, namePrefix prefix: String, firstNumber: Int)
    -> Range<Int>
  {
    let first = _count
    let r = row.index
    gpuCount.append(repeating: gpuCount[r], count: n)
    gpuMilli.append(repeating: gpuMilli[r], count: n)
    gpuModels.append(repeating: gpuModels[r], count: n)
    gpuAssignment.append(repeating: 0, count: n)
    requestCPU.append(repeating: requestCPU[r], count: n)
    requestMemory.append(repeating: requestMemory[r], count: n)
    requestEphemeral.append(repeating: requestEphemeral[r], count: n)
    nonZeroCPU.append(repeating: nonZeroCPU[r], count: n)
    nonZeroMemory.append(repeating: nonZeroMemory[r], count: n)
    priority.append(repeating: priority[r], count: n)
    node.append(repeating: PodTable.unbound, count: n)
    constraints.append(repeating: constraints[r], count: n)
    scalarRequests.append(repeating: scalarRequests[r], count: n)
    names.append(contentsOf: repeatElement("", count: n))
    namespace.append(repeating: namespace[r], count: n)
    labels.append(repeating: labels[r], count: n)
    appendLifecycle(count: n)
    nameRuns.append(NameRun(firstRow: first, count: n, prefix: prefix, firstNumber: firstNumber))
    free.append(contentsOf: repeatElement(false, count: n))
    _count += n
    added += n
    return first..<_count
  }

  /// The lifecycle columns of `n` new pods: pending, nothing happened yet.
  private func appendLifecycle(count n: Int) {
    phase.append(repeating: PodPhase.pending.code, count: n)
    for c in lifecycleTimes { c.append(repeating: PodTable.never, count: n) }
    restarts.append(repeating: 0, count: n)
    conditions.append(repeating: 0, count: n)
  }

  private var lifecycleTimes: [Column<Int64>] {
    [createdAt, scheduledAt, startedAt, readyAt, finishedAt, deletionDueAt, deletedAt]
  }

  /// A lifecycle time as virtual time, nil for `never`.
  public func time(_ column: Column<Int64>, of pod: PodID) -> VirtualTime? {
    let t = column[pod.index]
    return t == PodTable.never ? nil : VirtualTime(nanoseconds: t)
  }

  /// Sets a lifecycle time.
  public func set(_ column: Column<Int64>, of pod: PodID, to time: VirtualTime?) {
    column[pod.index] = time?.nanoseconds ?? PodTable.never
  }

  public func phase(of pod: PodID) -> PodPhase { PodPhase(code: phase[pod.index]) }
  public func setPhase(_ pod: PodID, _ p: PodPhase) { phase[pod.index] = p.code }

  /// Whether a graceful deletion is under way (a deletion timestamp, not yet removed).
  @inlinable public func isTerminating(_ pod: PodID) -> Bool {
    PodTable.isTerminating(deletionDue: deletionDueAt[pod.index], deleted: deletedAt[pod.index])
  }

  /// `isTerminating` from a pod's two lifecycle times, for readers of the columns' pointers.
  @inlinable public static func isTerminating(deletionDue: Int64, deleted: Int64) -> Bool {
    deletionDue != never && deleted == never
  }

  /// The id of a namespace name, registering names no pod uses yet (affinity terms list them).
  func internNamespace(_ name: String) -> UInt32 { _namespaces.intern(name) }

  func setNode(_ pod: PodID, _ n: UInt32) { node[pod.index] = n }
  func setGPUAssignment(_ pod: PodID, _ mask: UInt8) { gpuAssignment[pod.index] = mask }

  func copy() -> PodTable {
    let t = PodTable()
    t._count = _count
    for (dst, src) in zip(
      [t.requestCPU, t.requestMemory, t.requestEphemeral, t.nonZeroCPU, t.nonZeroMemory],
      [requestCPU, requestMemory, requestEphemeral, nonZeroCPU, nonZeroMemory])
    {
      dst.append(from: src)
    }
    t.priority.append(from: priority)
    t.gpuCount.append(from: gpuCount)
    t.gpuMilli.append(from: gpuMilli)
    t.gpuModels.append(from: gpuModels)
    t.gpuAssignment.append(from: gpuAssignment)
    t.gpuModelSets = gpuModelSets
    t.node.append(from: node)
    t.constraints.append(from: constraints)
    t.scalarRequests.append(from: scalarRequests)
    t.namespace.append(from: namespace)
    t.labels.append(from: labels)
    t.phase.append(from: phase)
    for (dst, src) in zip(t.lifecycleTimes, lifecycleTimes) { dst.append(from: src) }
    t.restarts.append(from: restarts)
    t.conditions.append(from: conditions)
    t._constraintSets = _constraintSets
    t.constraintBoxes = constraintBoxes
    t._scalarRequestSets = _scalarRequestSets
    t.names = names
    t.nameRuns = nameRuns
    t._namespaces = _namespaces
    t._labelSets = _labelSets
    t.nameIndex = nameIndex
    t.added = added
    t.freeRows = freeRows
    t.free = free
    return t
  }

  public func columnLengthsAreEqual() -> Bool {
    [
      requestCPU.count, requestMemory.count, requestEphemeral.count, nonZeroCPU.count,
      nonZeroMemory.count,
      priority.count, node.count, constraints.count, scalarRequests.count, namespace.count,
      labels.count,
      names.count, gpuCount.count, gpuMilli.count, gpuModels.count, gpuAssignment.count,
      phase.count, restarts.count, conditions.count, free.count,
    ].allSatisfy { $0 == _count } && lifecycleTimes.allSatisfy { $0.count == _count }
  }
}

/// The pod conditions upstream reports, as bits of `PodTable.conditions`.
public struct PodConditions: OptionSet, Sendable, Hashable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }
  public static let podScheduled = PodConditions(rawValue: 1)
  public static let initialized = PodConditions(rawValue: 2)
  public static let containersReady = PodConditions(rawValue: 4)
  public static let ready = PodConditions(rawValue: 8)
}

public struct ScalarRequest: Hashable, Sendable {
  public var resource: ScalarResourceID
  public var amount: Int64
  public init(resource: ScalarResourceID, amount: Int64) {
    self.resource = resource
    self.amount = amount
  }
}

/// One interned constraint set behind a reference: immutable, shared by every pod that has it.
public final class PodConstraintsBox: Sendable {
  public let value: PodConstraints
  init(_ value: PodConstraints) { self.value = value }
}
