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

  @exclusivity(unchecked) public private(set) var count = 0

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

  public private(set) var constraintSets = Interner<PodConstraints>()
  /// Distinct lists of (scalar resource, amount), sorted by resource; entry 0 is empty.
  public private(set) var scalarRequestSets = Interner<[ScalarRequest]>()

  // Cold.
  public private(set) var names: [String] = []
  public private(set) var namespaces = Interner<String>()
  public let namespace = Column<UInt32>(repeating: 0, count: 0)
  public private(set) var labelSets = Interner<[String: String]>()
  public let labels = Column<UInt32>(repeating: 0, count: 0)
  private var nameIndex: [String: PodID] = [:]

  init() { _ = scalarRequestSets.intern([]) }

  public func id(named name: String) -> PodID? { nameIndex[name] }
  public func name(_ pod: PodID) -> String { names[pod.index] }
  public func isBound(_ pod: PodID) -> Bool { node[pod.index] != PodTable.unbound }
  public func boundNode(_ pod: PodID) -> NodeID? {
    let n = node[pod.index]
    return n == PodTable.unbound ? nil : NodeID(n)
  }
  public func constraints(of pod: PodID) -> PodConstraints { constraintSets[constraints[pod.index]] }
  public func scalarRequests(of pod: PodID) -> [ScalarRequest] { scalarRequestSets[scalarRequests[pod.index]] }

  func append(
    name: String, namespace ns: String, labels podLabels: [String: String], requests: ResourceAmounts,
    nonZero: ResourceAmounts, scalars: [ScalarRequest], priority prio: Int32, constraints c: PodConstraints
  ) -> PodID {
    let id = PodID(UInt32(count))
    requestCPU.append(requests.cpuMillis)
    requestMemory.append(requests.memoryBytes)
    requestEphemeral.append(requests.ephemeralStorageBytes)
    nonZeroCPU.append(nonZero.cpuMillis)
    nonZeroMemory.append(nonZero.memoryBytes)
    priority.append(prio)
    node.append(PodTable.unbound)
    constraints.append(constraintSets.intern(c))
    scalarRequests.append(scalarRequestSets.intern(scalars))
    names.append(name)
    namespace.append(namespaces.intern(ns))
    labels.append(labelSets.intern(podLabels))
    nameIndex[name] = id
    count += 1
    return id
  }

  func setNode(_ pod: PodID, _ n: UInt32) { node[pod.index] = n }

  func copy() -> PodTable {
    let t = PodTable()
    t.count = count
    for (dst, src) in zip(
      [t.requestCPU, t.requestMemory, t.requestEphemeral, t.nonZeroCPU, t.nonZeroMemory],
      [requestCPU, requestMemory, requestEphemeral, nonZeroCPU, nonZeroMemory])
    {
      dst.append(from: src)
    }
    t.priority.append(from: priority)
    t.node.append(from: node)
    t.constraints.append(from: constraints)
    t.scalarRequests.append(from: scalarRequests)
    t.namespace.append(from: namespace)
    t.labels.append(from: labels)
    t.constraintSets = constraintSets
    t.scalarRequestSets = scalarRequestSets
    t.names = names
    t.namespaces = namespaces
    t.labelSets = labelSets
    t.nameIndex = nameIndex
    return t
  }

  /// Bytes of column storage per pod (excluding the shared interned sets and names).
  public static let hotBytesPerPod = 5 * 8 + 4 + 4 + 4 + 4 + 4 + 4

  public func columnLengthsAreEqual() -> Bool {
    [requestCPU.count, requestMemory.count, requestEphemeral.count, nonZeroCPU.count, nonZeroMemory.count,
     priority.count, node.count, constraints.count, scalarRequests.count, namespace.count, labels.count,
     names.count].allSatisfy { $0 == count }
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
