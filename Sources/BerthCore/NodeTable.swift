/// Nodes in struct-of-arrays layout: one column per hot field, every column `count` long.
///
/// Rows of nodes built together are in node-tree order (see `NodeTree`); a removed node's row
/// is cleared and taken by the next node added. Resource columns are Int64 in the scheduler's
/// units (millicores, bytes, counts). Labels are one column of value ids per key (0 = absent) and
/// taints one bitset of `taintWords` words per node, so filters compare integers and masks.
/// Cold data — names, label maps, taint lists in spec order, images, host ports — sits in side
/// arrays indexed by row and is read only to build reports.
///
/// Invariant: every column has `count` rows (`taintBits` has `count × taintWords`).
public final class NodeTable {
  @usableFromInline @exclusivity(unchecked) var _count = 0
  @inlinable public var count: Int { _count }
  /// The largest allocatable CPU, memory and ephemeral storage of any node; kernels use these
  /// to prove that their double-precision arithmetic is exact. A negative amount (no real node
  /// has one) counts as Int64.max: the kernels then keep to their integer paths.
  @usableFromInline @exclusivity(unchecked) var _largestAllocatable:
    (cpu: Int64, memory: Int64, ephemeral: Int64) = (0, 0, 0)
  @inlinable public var largestAllocatable: (cpu: Int64, memory: Int64, ephemeral: Int64) {
    _largestAllocatable
  }
  /// An allocatable amount as a bound for `largestAllocatable`.
  @inline(__always) static func bound(_ amount: Int64) -> Int64 { amount < 0 ? .max : amount }
  @usableFromInline @exclusivity(unchecked) var _largestScalarAllocatable: [Int64] = []
  @inlinable public var largestScalarAllocatable: [Int64] { _largestScalarAllocatable }
  /// Rows with `unschedulable` set; NodeUnschedulable skips its pass when there are none.
  @usableFromInline @exclusivity(unchecked) var _cordonedCount = 0
  @inlinable public var cordonedCount: Int { _cordonedCount }

  // Hot columns.
  public let allocatableCPU = Column<Int64>(repeating: 0, count: 0)
  public let allocatableMemory = Column<Int64>(repeating: 0, count: 0)
  public let allocatableEphemeral = Column<Int64>(repeating: 0, count: 0)
  public let allocatablePods = Column<Int64>(repeating: 0, count: 0)
  public let requestedCPU = Column<Int64>(repeating: 0, count: 0)
  public let requestedMemory = Column<Int64>(repeating: 0, count: 0)
  public let requestedEphemeral = Column<Int64>(repeating: 0, count: 0)
  public let podCount = Column<Int64>(repeating: 0, count: 0)
  /// CPU and memory as the resource kernels read them — NodeResourcesFit's filter and scores,
  /// BalancedAllocation (`mirrorResources` keeps each row in step with the integer columns):
  /// no conversion per row and pass, and reciprocals in place of divisions.
  public let cpuDoubles = ResourceDoubles()
  public let memoryDoubles = ResourceDoubles()
  /// Allocatable pods less bound pods, as a double (the same exactness): the filter's room for
  /// one more pod is `freePodSlots ≥ 1`.
  public let freePodSlots = Column<Double>(repeating: 0, count: 0)
  /// Every mirrored amount is below 2^52 in magnitude, so each double equals its integer
  /// (once false, it stays false: the kernels then keep to their integer forms).
  @usableFromInline @exclusivity(unchecked) var _mirrorsAreExact = true
  @inlinable public var mirrorsAreExact: Bool { _mirrorsAreExact }
  /// Nodes whose allocatable CPU, and nodes whose allocatable memory, is 0 or less (removed
  /// rows do not count): the resource kernels leave out their rules for such nodes while a
  /// count is 0.
  @usableFromInline @exclusivity(unchecked) var _nodesWithoutAllocatable: (cpu: Int, memory: Int) =
    (0, 0)
  @inlinable public var nodesWithoutAllocatable: (cpu: Int, memory: Int) {
    _nodesWithoutAllocatable
  }
  /// Requested CPU and memory with the 100m / 200Mi scoring defaults for unset requests.
  public let nonZeroRequestedCPU = Column<Int64>(repeating: 0, count: 0)
  public let nonZeroRequestedMemory = Column<Int64>(repeating: 0, count: 0)
  /// 1 for a node of the cluster, 0 for the empty row of a removed one (never walked: no
  /// capacity, labels or taints); passes over all rows that count nodes read it.
  public let exists = Column<UInt8>(repeating: 0, count: 0)
  /// 1 when `spec.unschedulable` (cordoned).
  public let unschedulable = Column<UInt8>(repeating: 0, count: 0)
  /// Host ports in use on the node; 0 for nearly every node, so NodePorts checks few rows.
  public let hostPortsInUse = Column<Int32>(repeating: 0, count: 0)
  /// Bumped whenever the node's state changes (a pod bound or unbound): a result computed from
  /// the node's columns at version v is still the node's while its version is v.
  public let version = Column<UInt64>(repeating: 0, count: 0)
  /// The rows of the last `journalCapacity` node changes (each version bump), oldest
  /// overwritten first: change number c sits at `journal[c % journalCapacity]`. A cache that
  /// remembers `changeCount` reads what changed since without looking at every row.
  public let journal = Column<Int32>(repeating: 0, count: NodeTable.journalCapacity)
  public static let journalCapacity = 4096
  @usableFromInline @exclusivity(unchecked) var _changeCount: UInt64 = 0
  /// Node changes so far (version bumps on any row).
  @inlinable public var changeCount: UInt64 { _changeCount }

  /// Records that row `node` changed: bumps its version and journals it.
  @inline(__always) func noteChange(_ node: Int) {
    // SAFETY: the journal holds `journalCapacity` entries; the index is taken modulo it.
    version[node] &+= 1
    journal.base[Int(_changeCount % UInt64(NodeTable.journalCapacity))] = Int32(node)
    _changeCount &+= 1
  }
  @usableFromInline @exclusivity(unchecked) var _taintWords = 1
  @inlinable public var taintWords: Int { _taintWords }
  @usableFromInline @exclusivity(unchecked) var _taintBits = Column<UInt64>(repeating: 0, count: 0)
  @inlinable public var taintBits: Column<UInt64> { _taintBits }
  /// Bits 0–7 of each row's taint bitset: the whole bitset while the cluster has at most eight
  /// distinct taints, when TaintToleration reads a byte per row (32 rows to a vector on AVX2)
  /// instead of a word it must narrow to its status byte.
  public let taintByte = Column<UInt8>(repeating: 0, count: 0)
  /// GPU-sharing columns: device count, model id (0 = none), and milli-GPU left per device in
  /// eight slots per node (`gpuMilliLeft[row * 8 + i]`; slots past the count stay 0), plus their
  /// sum, so filters and fragmentation read plain integers.
  public let gpuCount = Column<UInt8>(repeating: 0, count: 0)
  public let gpuModel = Column<UInt16>(repeating: 0, count: 0)
  public let gpuMilliLeft = Column<Int16>(repeating: 0, count: 0)
  public let gpuMilliFree = Column<Int32>(repeating: 0, count: 0)
  /// `labelValues[key][row]`: the node's value id for that key, 0 when absent.
  @usableFromInline @exclusivity(unchecked) var _labelValues: [Column<UInt32>] = []
  @inlinable public var labelValues: [Column<UInt32>] { _labelValues }
  /// Per scalar resource id.
  @usableFromInline @exclusivity(unchecked) var _scalarAllocatable: [Column<Int64>] = []
  @inlinable public var scalarAllocatable: [Column<Int64>] { _scalarAllocatable }
  @usableFromInline @exclusivity(unchecked) var _scalarRequested: [Column<Int64>] = []
  @inlinable public var scalarRequested: [Column<Int64>] { _scalarRequested }

  // Cold side tables.
  @exclusivity(unchecked) public private(set) var names: [String] = []
  @exclusivity(unchecked) public private(set) var labels: [[String: String]] = []
  @exclusivity(unchecked) public private(set) var taints: [[Taint]] = []
  @exclusivity(unchecked) public private(set) var usedHostPorts: [[ContainerPort]] = []
  @exclusivity(unchecked) public private(set) var specs: [NodeSpec] = []
  @exclusivity(unchecked) private var nameIndex: [String: NodeID] = [:]

  init() {}

  public func id(named name: String) -> NodeID? { nameIndex[name] }

  public func name(_ node: NodeID) -> String { names[node.index] }

  /// Appends a row for a new node.
  func append(
    _ spec: NodeSpec, labelIDs: [(key: Int, value: UInt32)], taintIDs: [Int],
    scalarIDs: [(ScalarResourceID, Int64)],
    gpuModelID: UInt16
  ) -> NodeID {
    let id = NodeID(UInt32(_count))
    gpuCount.append(0)
    gpuModel.append(0)
    for _ in 0..<NodeGPUs.maxPerNode { gpuMilliLeft.append(0) }
    gpuMilliFree.append(0)
    // Each column by name: the `int64Columns` list would allocate an array per node added.
    allocatableCPU.append(0)
    allocatableMemory.append(0)
    allocatableEphemeral.append(0)
    allocatablePods.append(0)
    cpuDoubles.append()
    memoryDoubles.append()
    freePodSlots.append(0)
    requestedCPU.append(0)
    requestedMemory.append(0)
    requestedEphemeral.append(0)
    podCount.append(0)
    nonZeroRequestedCPU.append(0)
    nonZeroRequestedMemory.append(0)
    unschedulable.append(0)
    exists.append(0)
    hostPortsInUse.append(0)
    version.append(0)
    _taintBits.append(repeating: 0, count: _taintWords)
    taintByte.append(0)
    for c in _labelValues { c.append(0) }
    for c in _scalarAllocatable { c.append(0) }
    for c in _scalarRequested { c.append(0) }
    names.append(spec.name)
    labels.append([:])
    taints.append([])
    usedHostPorts.append([])
    specs.append(spec)
    _count += 1
    fill(
      id, spec, labelIDs: labelIDs, taintIDs: taintIDs, scalarIDs: scalarIDs, gpuModelID: gpuModelID
    )
    return id
  }

  /// Writes a new node into the free row `node` (one `clear` left), journalling the row.
  func reuse(
    _ node: NodeID, for spec: NodeSpec, labelIDs: [(key: Int, value: UInt32)], taintIDs: [Int],
    scalarIDs: [(ScalarResourceID, Int64)], gpuModelID: UInt16
  ) {
    fill(
      node, spec, labelIDs: labelIDs, taintIDs: taintIDs, scalarIDs: scalarIDs,
      gpuModelID: gpuModelID)
    noteChange(node.index)
  }

  /// Sets every column of row `node`, whose requested sums are zero and whose other columns
  /// are zero (a new row, or one `clear` left), to describe `spec`.
  private func fill(
    _ node: NodeID, _ spec: NodeSpec, labelIDs: [(key: Int, value: UInt32)], taintIDs: [Int],
    scalarIDs: [(ScalarResourceID, Int64)], gpuModelID: UInt16
  ) {
    let i = node.index
    assert(podCount[i] == 0 && requestedCPU[i] == 0, "a node row filled while holding pods")
    let gpus = spec.gpus?.count ?? 0
    gpuCount[i] = UInt8(gpus)
    gpuModel[i] = gpuModelID
    for slot in 0..<gpus { gpuMilliLeft[i * NodeGPUs.maxPerNode + slot] = NodeGPUs.milliPerGPU }
    gpuMilliFree[i] = Int32(gpus) * Int32(NodeGPUs.milliPerGPU)
    allocatableCPU[i] = spec.allocatable.cpuMillis
    allocatableMemory[i] = spec.allocatable.memoryBytes
    allocatableEphemeral[i] = spec.allocatable.ephemeralStorageBytes
    allocatablePods[i] = spec.allocatable.pods
    mirrorResources(i)
    countAllocatable(of: i, by: 1)
    unschedulable[i] = spec.unschedulable ? 1 : 0
    if spec.unschedulable { _cordonedCount += 1 }
    exists[i] = 1
    _largestAllocatable.cpu = max(_largestAllocatable.cpu, Self.bound(spec.allocatable.cpuMillis))
    _largestAllocatable.memory = max(
      _largestAllocatable.memory, Self.bound(spec.allocatable.memoryBytes))
    _largestAllocatable.ephemeral = max(
      _largestAllocatable.ephemeral, Self.bound(spec.allocatable.ephemeralStorageBytes))
    setTaints(i, taintIDs)
    for (key, value) in labelIDs { _labelValues[key][i] = value }
    for (r, amount) in scalarIDs {
      _scalarAllocatable[r.index][i] = amount
      _largestScalarAllocatable[r.index] = max(
        _largestScalarAllocatable[r.index], Self.bound(amount))
    }
    names[i] = spec.name
    labels[i] = spec.labels
    taints[i] = spec.taints
    usedHostPorts[i] = []
    specs[i] = spec
    nameIndex[spec.name] = node
  }

  /// Empties the row of a removed node: no capacity, labels, taints or GPUs, and its name
  /// free for a new node (`names` and `specs` keep the old node's until the row is reused, for
  /// reports about pods that were there). Journals the row.
  /// - Precondition: no pod is bound there.
  func clear(_ node: NodeID) {
    let i = node.index
    precondition(podCount[i] == 0 && requestedCPU[i] == 0, "a node row cleared while holding pods")
    gpuCount[i] = 0
    gpuModel[i] = 0
    for slot in 0..<NodeGPUs.maxPerNode { gpuMilliLeft[i * NodeGPUs.maxPerNode + slot] = 0 }
    gpuMilliFree[i] = 0
    countAllocatable(of: i, by: -1)
    for c in int64Columns { c[i] = 0 }
    mirrorResources(i)
    _cordonedCount -= Int(unschedulable[i])
    unschedulable[i] = 0
    exists[i] = 0
    hostPortsInUse[i] = 0
    setTaints(i, [])
    for c in _labelValues { c[i] = 0 }
    for c in _scalarAllocatable { c[i] = 0 }
    for c in _scalarRequested { c[i] = 0 }
    labels[i] = [:]
    taints[i] = []
    usedHostPorts[i] = []
    if nameIndex[names[i]] == node { nameIndex[names[i]] = nil }
    noteChange(i)
  }

  /// Rewrites row `node` for a changed spec (same name and GPUs): label values (`labelIDs` lists
  /// every key the node now carries), taint bits, the cordon flag, allocatable amounts and the
  /// cold side arrays. Journals the row. Requested sums and bound pods stay as they are.
  func update(
    _ node: NodeID, to spec: NodeSpec, labelIDs: [(key: Int, value: UInt32)], taintIDs: [Int],
    scalarIDs: [(ScalarResourceID, Int64)]
  ) {
    let i = node.index
    for c in _labelValues { c[i] = 0 }
    for (key, value) in labelIDs { _labelValues[key][i] = value }
    setTaints(i, taintIDs)
    let cordoned = spec.unschedulable ? 1 : 0
    _cordonedCount += cordoned - Int(unschedulable[i])
    unschedulable[i] = UInt8(cordoned)
    countAllocatable(of: i, by: -1)
    allocatableCPU[i] = spec.allocatable.cpuMillis
    allocatableMemory[i] = spec.allocatable.memoryBytes
    allocatableEphemeral[i] = spec.allocatable.ephemeralStorageBytes
    allocatablePods[i] = spec.allocatable.pods
    mirrorResources(i)
    countAllocatable(of: i, by: 1)
    // The largest amounts only bound the kernels' arithmetic: they may stay high after a shrink.
    _largestAllocatable.cpu = max(_largestAllocatable.cpu, Self.bound(spec.allocatable.cpuMillis))
    _largestAllocatable.memory = max(
      _largestAllocatable.memory, Self.bound(spec.allocatable.memoryBytes))
    _largestAllocatable.ephemeral = max(
      _largestAllocatable.ephemeral, Self.bound(spec.allocatable.ephemeralStorageBytes))
    for c in _scalarAllocatable { c[i] = 0 }
    for (r, amount) in scalarIDs {
      _scalarAllocatable[r.index][i] = amount
      _largestScalarAllocatable[r.index] = max(
        _largestScalarAllocatable[r.index], Self.bound(amount))
    }
    labels[i] = spec.labels
    taints[i] = spec.taints
    specs[i] = spec
    noteChange(i)
  }

  func addLabelKey() { _labelValues.append(Column(repeating: 0, count: _count)) }

  func addScalarResource() {
    _scalarAllocatable.append(Column(repeating: 0, count: _count))
    _scalarRequested.append(Column(repeating: 0, count: _count))
    _largestScalarAllocatable.append(0)
  }

  /// Re-lays the taint bitsets with `words` words per node.
  func widenTaints(to words: Int) {
    guard words > _taintWords else { return }
    let wider = Column<UInt64>(repeating: 0, count: _count * words)
    for row in 0..<_count {
      for w in 0..<_taintWords { wider[row * words + w] = _taintBits[row * _taintWords + w] }
    }
    _taintBits = wider
    _taintWords = words
  }

  func recordHostPorts(_ ports: [ContainerPort], on node: NodeID, adding: Bool) {
    if adding {
      usedHostPorts[node.index].append(contentsOf: ports)
    } else {
      for p in ports {
        if let i = usedHostPorts[node.index].firstIndex(of: p) {
          usedHostPorts[node.index].remove(at: i)
        }
      }
    }
    hostPortsInUse[node.index] = Int32(usedHostPorts[node.index].count)
  }

  func copy() -> NodeTable {
    // SAFETY: both journals hold `journalCapacity` entries.
    let t = NodeTable()
    t._count = _count
    t._cordonedCount = _cordonedCount
    t._largestAllocatable = _largestAllocatable
    t._largestScalarAllocatable = _largestScalarAllocatable
    for (dst, src) in zip(t.int64Columns, int64Columns) { dst.append(from: src) }
    t.cpuDoubles.append(from: cpuDoubles)
    t.memoryDoubles.append(from: memoryDoubles)
    t.freePodSlots.append(from: freePodSlots)
    t._mirrorsAreExact = _mirrorsAreExact
    t._nodesWithoutAllocatable = _nodesWithoutAllocatable
    t.unschedulable.append(from: unschedulable)
    t.exists.append(from: exists)
    t.gpuCount.append(from: gpuCount)
    t.gpuModel.append(from: gpuModel)
    t.gpuMilliLeft.append(from: gpuMilliLeft)
    t.gpuMilliFree.append(from: gpuMilliFree)
    t.hostPortsInUse.append(from: hostPortsInUse)
    t.version.append(from: version)
    t.journal.base.update(from: journal.base, count: NodeTable.journalCapacity)
    t._changeCount = _changeCount
    t._taintWords = _taintWords
    t._taintBits = _taintBits.copy()
    t.taintByte.append(from: taintByte)
    t._labelValues = _labelValues.map { $0.copy() }
    t._scalarAllocatable = _scalarAllocatable.map { $0.copy() }
    t._scalarRequested = _scalarRequested.map { $0.copy() }
    t.names = names
    t.labels = labels
    t.taints = taints
    t.usedHostPorts = usedHostPorts
    t.specs = specs
    t.nameIndex = nameIndex
    return t
  }

  private var int64Columns: [Column<Int64>] {
    [
      allocatableCPU, allocatableMemory, allocatableEphemeral, allocatablePods, requestedCPU,
      requestedMemory, requestedEphemeral, podCount, nonZeroRequestedCPU, nonZeroRequestedMemory,
    ]
  }

  /// Takes `milli` from each GPU in `mask` of row `node` (negative milli gives it back).
  func adjustGPUs(_ node: Int, mask: UInt8, milli: Int16) {
    noteChange(node)
    for slot in 0..<NodeGPUs.maxPerNode where mask & (1 << UInt8(slot)) != 0 {
      gpuMilliLeft[node * NodeGPUs.maxPerNode + slot] -= milli
      gpuMilliFree[node] -= Int32(milli)
    }
  }

  /// Row `i`'s taint bitset holds exactly `taintIDs`, and its byte the first eight bits.
  private func setTaints(_ i: Int, _ taintIDs: [Int]) {
    for w in 0..<_taintWords { _taintBits[i * _taintWords + w] = 0 }
    for t in taintIDs {
      precondition(t < _taintWords * 64, "taint id beyond bitset width")
      _taintBits[i * _taintWords + (t >> 6)] |= 1 << UInt64(t & 63)
    }
    taintByte[i] = UInt8(truncatingIfNeeded: _taintBits[i * _taintWords])
  }

  /// Adds `delta` to `nodesWithoutAllocatable` for row `i`'s allocatable CPU and memory.
  private func countAllocatable(of i: Int, by delta: Int) {
    if allocatableCPU[i] <= 0 { _nodesWithoutAllocatable.cpu += delta }
    if allocatableMemory[i] <= 0 { _nodesWithoutAllocatable.memory += delta }
  }

  /// The CPU and memory doubles row `i`'s integer columns give (`ResourceDoubles.row`).
  @inline(__always)
  private func mirroredRows(_ i: Int) -> (cpu: ResourceDoubles.Row, memory: ResourceDoubles.Row) {
    // SAFETY: callers check that `i` is a node row; every column has a row per node.
    (
      ResourceDoubles.row(
        allocatable: allocatableCPU.base[i], requested: requestedCPU.base[i],
        nonZeroRequested: nonZeroRequestedCPU.base[i]),
      ResourceDoubles.row(
        allocatable: allocatableMemory.base[i], requested: requestedMemory.base[i],
        nonZeroRequested: nonZeroRequestedMemory.base[i])
    )
  }

  /// Whether row `i` of the doubles holds what `mirrorResources` would set.
  func mirrorsMatch(_ i: Int) -> Bool {
    precondition(i >= 0 && i < _count, "not a node row")
    let (c, m) = mirroredRows(i)
    return cpuDoubles.holds(c, row: i) && memoryDoubles.holds(m, row: i)
      && freePodSlots[i] == Double(allocatablePods[i] &- podCount[i])
  }

  /// Nodes counted in `nodesWithoutAllocatable`, counted again (for invariant checks).
  func recountNodesWithoutAllocatable() -> (cpu: Int, memory: Int) {
    var n = (cpu: 0, memory: 0)
    for i in 0..<_count where exists[i] != 0 {
      if allocatableCPU[i] <= 0 { n.cpu += 1 }
      if allocatableMemory[i] <= 0 { n.memory += 1 }
    }
    return n
  }

  /// `mirrorResources` for a row whose requested sums or pod count changed and whose
  /// allocatable amounts did not (a bind, unbind or resize): the request-dependent doubles only,
  /// no reciprocal taken again.
  @inline(__always)
  func mirrorRequests(_ i: Int) {
    // SAFETY: `i` is a node row (callers pass a bound pod's node); every column has a row per
    // node, and the unchecked accesses below are the ones `mirrorResources` makes checked.
    assert(i >= 0 && i < _count, "not a node row")
    let (c, m) = mirroredRows(i)
    cpuDoubles.free.base[i] = c.free
    cpuDoubles.nonZeroFree.base[i] = c.nonZeroFree
    memoryDoubles.free.base[i] = m.free
    memoryDoubles.nonZeroFree.base[i] = m.nonZeroFree
    let pods = podCount.base[i]
    freePodSlots.base[i] = Double(allocatablePods.base[i] &- pods)
    _mirrorsAreExact = _mirrorsAreExact && c.isExact && m.isExact && pods.magnitude < 1 << 52
  }

  /// Brings row `i` of `cpuDoubles` and `memoryDoubles` up to date with the integer columns;
  /// called wherever allocatable amounts of a row change.
  func mirrorResources(_ i: Int) {
    precondition(i >= 0 && i < _count, "not a node row")
    let (cpu, memory) = mirroredRows(i)
    cpuDoubles.set(i, to: cpu)
    memoryDoubles.set(i, to: memory)
    freePodSlots[i] = Double(allocatablePods[i] &- podCount[i])
    _mirrorsAreExact =
      _mirrorsAreExact && cpu.isExact && memory.isExact && allocatablePods[i].magnitude < 1 << 52
      && podCount[i].magnitude < 1 << 52
  }

  /// Every column holds `count` rows.
  public func columnLengthsAreEqual() -> Bool {
    let lengths =
      int64Columns.map(\.count) + [
        cpuDoubles.count, memoryDoubles.count, freePodSlots.count,
        unschedulable.count, exists.count, hostPortsInUse.count, version.count, gpuCount.count,
        taintByte.count,
        gpuModel.count,
        gpuMilliFree.count,
      ]
      + _labelValues.map(\.count) + _scalarAllocatable.map(\.count) + _scalarRequested.map(\.count)
    return lengths.allSatisfy { $0 == _count } && _taintBits.count == _count * _taintWords
      && gpuMilliLeft.count == _count * NodeGPUs.maxPerNode
      && names.count == _count
  }
}

extension Column {
  func append(from other: Column<Element>) {
    // SAFETY: i < other.count, the initialised rows of `other`.
    for i in 0..<other.count { append(other.base[i]) }
  }
}

/// One resource's node amounts in doubles, for the scorers' exact double arithmetic: each
/// column a row per node, equal to the integers while `NodeTable.mirrorsAreExact`.
public final class ResourceDoubles {
  /// Allocatable; allocatable less the requested sum of bound pods (what NodeResourcesFit's
  /// filter compares a request with); allocatable less the non-zero requested sum (its
  /// scoring sums).
  public let allocatable = Column<Double>(repeating: 0, count: 0)
  public let free = Column<Double>(repeating: 0, count: 0)
  public let nonZeroFree = Column<Double>(repeating: 0, count: 0)
  /// 1/allocatable rounded to the nearest double; 0 where allocatable is not positive.
  public let inverse = Column<Double>(repeating: 0, count: 0)

  var count: Int { allocatable.count }

  func append() {
    // Each column by name: a list of them would allocate an array per node added.
    allocatable.append(0)
    free.append(0)
    nonZeroFree.append(0)
    inverse.append(0)
  }

  func append(from other: ResourceDoubles) {
    allocatable.append(from: other.allocatable)
    free.append(from: other.free)
    nonZeroFree.append(from: other.nonZeroFree)
    inverse.append(from: other.inverse)
  }

  /// One row's doubles for a resource's integers.
  struct Row {
    var allocatable, free, nonZeroFree, inverse: Double
    /// Every amount converted exactly (each magnitude below 2^52).
    var isExact: Bool
  }

  /// The row `allocatable a`, `requested r` and `nonZeroRequested nz` give: free = a − r,
  /// non-zero free = a − nz, inverse = 1/a rounded (0 unless a > 0).
  @inline(__always)
  static func row(allocatable a: Int64, requested r: Int64, nonZeroRequested nz: Int64) -> Row {
    let (left, nonZeroLeft) = (a &- r, a &- nz)
    let limit: Int64 = 1 << 52
    return Row(
      allocatable: Double(a), free: Double(left), nonZeroFree: Double(nonZeroLeft),
      inverse: a > 0 ? 1 / Double(a) : 0,
      isExact: a.magnitude < limit && r.magnitude < limit && nz.magnitude < limit
        && left.magnitude < limit && nonZeroLeft.magnitude < limit)
  }

  func set(_ i: Int, to row: Row) {
    allocatable[i] = row.allocatable
    free[i] = row.free
    nonZeroFree[i] = row.nonZeroFree
    inverse[i] = row.inverse
  }

  /// Whether row `i` holds `row`, bit for bit.
  func holds(_ row: Row, row i: Int) -> Bool {
    allocatable[i].bitPattern == row.allocatable.bitPattern
      && free[i].bitPattern == row.free.bitPattern
      && nonZeroFree[i].bitPattern == row.nonZeroFree.bitPattern
      && inverse[i].bitPattern == row.inverse.bitPattern
  }
}
