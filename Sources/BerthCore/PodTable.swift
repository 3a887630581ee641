/// Pods in struct-of-arrays layout, in arrival order.
///
/// Requests are the effective requests (`PodRequests`), computed once at insertion; the non-zero
/// variant substitutes 100m / 200Mi for unset CPU / memory, for scoring. The pod's constraints
/// (selectors, affinity, tolerations, ports, images) are interned: `constraints[row]` indexes
/// `constraintSets`, shared by every pod of a workload.
///
/// Invariant: every column has `count` rows.
public final class PodTable {
  /// `node[row]` when the pod is not bound.
  public static let unbound = UInt32.max

  @usableFromInline @exclusivity(unchecked) var _count = 0
  @inlinable public var count: Int { _count }

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

  // Cold.
  @exclusivity(unchecked) public private(set) var names: [String] = []
  @usableFromInline @exclusivity(unchecked) var _namespaces = Interner<String>()
  @inlinable public var namespaces: Interner<String> { _namespaces }
  public let namespace = Column<UInt32>(repeating: 0, count: 0)
  @usableFromInline @exclusivity(unchecked) var _labelSets = Interner<[String: String]>()
  @inlinable public var labelSets: Interner<[String: String]> { _labelSets }
  public let labels = Column<UInt32>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var nameIndex: [String: PodID] = [:]

  init() {
    _ = _scalarRequestSets.intern([])
    _ = gpuModelSets.intern([])
  }

  public func id(named name: String) -> PodID? { nameIndex[name] }
  public func name(_ pod: PodID) -> String { names[pod.index] }
  public func isBound(_ pod: PodID) -> Bool { node[pod.index] != PodTable.unbound }
  public func boundNode(_ pod: PodID) -> NodeID? {
    let n = node[pod.index]
    return n == PodTable.unbound ? nil : NodeID(n)
  }
  public func constraints(of pod: PodID) -> PodConstraints { constraintBoxes[Int(constraints[pod.index])].value }
  /// The boxed constraint set `id` (see `constraints`).
  @inlinable public func constraintBox(_ id: UInt32) -> PodConstraintsBox { constraintBoxes[Int(id)] }
  public func scalarRequests(of pod: PodID) -> [ScalarRequest] { _scalarRequestSets[scalarRequests[pod.index]] }

  func append(
    name: String, namespace ns: String, labels podLabels: [String: String], requests: ResourceAmounts,
    nonZero: ResourceAmounts, scalars: [ScalarRequest], priority prio: Int32, constraints c: PodConstraints,
    gpu: (count: UInt8, milli: Int16, models: [UInt16]) = (0, 0, [])
  ) -> PodID {
    let id = PodID(UInt32(_count))
    gpuCount.append(gpu.count)
    gpuMilli.append(gpu.milli)
    gpuModels.append(gpuModelSets.intern(gpu.models))
    gpuAssignment.append(0)
    requestCPU.append(requests.cpuMillis)
    requestMemory.append(requests.memoryBytes)
    requestEphemeral.append(requests.ephemeralStorageBytes)
    nonZeroCPU.append(nonZero.cpuMillis)
    nonZeroMemory.append(nonZero.memoryBytes)
    priority.append(prio)
    node.append(PodTable.unbound)
    let cid = _constraintSets.intern(c)
    if Int(cid) == constraintBoxes.count { constraintBoxes.append(PodConstraintsBox(c)) }
    constraints.append(cid)
    scalarRequests.append(_scalarRequestSets.intern(scalars))
    names.append(name)
    namespace.append(_namespaces.intern(ns))
    labels.append(_labelSets.intern(podLabels))
    nameIndex[name] = id
    _count += 1
    return id
  }

  /// Makes room for `extra` more pods' names, so a bulk add never rehashes the name index.
  func reserveCapacity(extra: Int) {
    names.reserveCapacity(_count + extra)
    nameIndex.reserveCapacity(_count + extra)
  }

  /// Appends a pod identical to `row` but for its name: every column repeats the row's value
  /// (unbound), so no spec is parsed or interned again.
  func appendCopy(of row: PodID, name: String) -> PodID {
    let id = PodID(UInt32(_count))
    let r = row.index
    gpuCount.append(gpuCount[r])
    gpuMilli.append(gpuMilli[r])
    gpuModels.append(gpuModels[r])
    gpuAssignment.append(0)
    requestCPU.append(requestCPU[r])
    requestMemory.append(requestMemory[r])
    requestEphemeral.append(requestEphemeral[r])
    nonZeroCPU.append(nonZeroCPU[r])
    nonZeroMemory.append(nonZeroMemory[r])
    priority.append(priority[r])
    node.append(PodTable.unbound)
    constraints.append(constraints[r])
    scalarRequests.append(scalarRequests[r])
    names.append(name)
    namespace.append(namespace[r])
    labels.append(labels[r])
    nameIndex[name] = id
    _count += 1
    return id
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
    t._constraintSets = _constraintSets
    t.constraintBoxes = constraintBoxes
    t._scalarRequestSets = _scalarRequestSets
    t.names = names
    t._namespaces = _namespaces
    t._labelSets = _labelSets
    t.nameIndex = nameIndex
    return t
  }

  /// Bytes of column storage per pod (excluding the shared interned sets and names).
  public static let hotBytesPerPod = 5 * 8 + 4 + 4 + 4 + 4 + 4 + 4 + 1 + 2 + 4 + 1

  public func columnLengthsAreEqual() -> Bool {
    [requestCPU.count, requestMemory.count, requestEphemeral.count, nonZeroCPU.count, nonZeroMemory.count,
     priority.count, node.count, constraints.count, scalarRequests.count, namespace.count, labels.count,
     names.count, gpuCount.count, gpuMilli.count, gpuModels.count, gpuAssignment.count].allSatisfy { $0 == _count }
  }
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
