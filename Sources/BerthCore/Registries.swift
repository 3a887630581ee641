/// The values one label key takes across the cluster, interned to small integers.
///
/// Value id 0 means "label absent", so a node column of value ids answers Exists/DoesNotExist
/// with one compare and In/NotIn with one table lookup.
public struct LabelDomain: Sendable {
  public let key: String
  /// `values[0]` is a placeholder for "absent".
  public private(set) var values: [String] = [""]
  /// The value parsed as a base-10 Int64, for Gt/Lt.
  public private(set) var numeric: [Int64?] = [nil]
  private var index: [String: UInt32] = [:]

  init(key: String) { self.key = key }

  public var count: Int { values.count }

  public func id(of value: String) -> UInt32? { index[value] }

  mutating func intern(_ value: String) -> UInt32 {
    if let id = index[value] { return id }
    let id = UInt32(values.count)
    values.append(value)
    numeric.append(Int64(value))
    index[value] = id
    return id
  }
}

/// Label keys seen on nodes, each with its value domain.
public struct LabelRegistry: Sendable {
  public private(set) var domains: [LabelDomain] = []
  private var keyIndex: [String: Int] = [:]

  public init() {}

  public var keyCount: Int { domains.count }

  public func keyID(_ key: String) -> Int? { keyIndex[key] }

  mutating func internKey(_ key: String) -> (id: Int, isNew: Bool) {
    if let id = keyIndex[key] { return (id, false) }
    keyIndex[key] = domains.count
    domains.append(LabelDomain(key: key))
    return (domains.count - 1, true)
  }

  mutating func intern(value: String, key: Int) -> UInt32 { domains[key].intern(value) }
}

/// Distinct node taints, numbered so a node's taints are a bitset.
public struct TaintRegistry: Sendable {
  public private(set) var taints: [Taint] = []
  private var index: [Taint: Int] = [:]

  public init() {}

  public var count: Int { taints.count }
  /// 64-bit words per node bitset.
  public var words: Int { max(1, (taints.count + 63) / 64) }

  public func id(of taint: Taint) -> Int? { index[taint] }

  mutating func intern(_ taint: Taint) -> Int {
    if let id = index[taint] { return id }
    index[taint] = taints.count
    taints.append(taint)
    return taints.count - 1
  }

  /// Bits of the taints whose effect satisfies `predicate`, `words` long.
  public func mask(where predicate: (Taint) -> Bool) -> [UInt64] {
    var m = [UInt64](repeating: 0, count: words)
    for (i, t) in taints.enumerated() where predicate(t) { m[i >> 6] |= 1 << UInt64(i & 63) }
    return m
  }
}

/// Scalar resources (extended resources, hugepages) advertised by nodes or requested by pods.
public struct ScalarRegistry: Sendable {
  public private(set) var names: [String] = []
  private var index: [String: Int] = [:]
  public init() {}
  public var count: Int { names.count }
  public func id(of name: String) -> ScalarResourceID? {
    index[name].map { ScalarResourceID(UInt16($0)) }
  }
  mutating func intern(_ name: String) -> (id: ScalarResourceID, isNew: Bool) {
    if let i = index[name] { return (ScalarResourceID(UInt16(i)), false) }
    precondition(names.count < Int(UInt16.max), "too many scalar resources")
    index[name] = names.count
    names.append(name)
    return (ScalarResourceID(UInt16(names.count - 1)), true)
  }
}

/// Container images present on nodes, with the per-image node lists ImageLocality sums over.
public struct ImageRegistry: Sendable {
  public struct Presence: Sendable {
    public var node: NodeID
    public var sizeBytes: Int64
  }
  public private(set) var names: [String] = []
  /// For each image, the nodes holding it (ascending node id) and its size there.
  public private(set) var presence: [[Presence]] = []
  private var index: [String: Int] = [:]

  public init() {}

  public func id(of name: String) -> Int? { index[name] }

  /// Forgets every image the node held (before its images are registered again).
  mutating func remove(node: NodeID) {
    for id in presence.indices { presence[id].removeAll { $0.node == node } }
  }

  mutating func add(name: String, node: NodeID, sizeBytes: Int64) {
    let id: Int
    if let i = index[name] {
      id = i
    } else {
      id = names.count
      index[name] = id
      names.append(name)
      presence.append([])
    }
    let entry = Presence(node: node, sizeBytes: sizeBytes)
    guard let last = presence[id].last, last.node >= node else {
      presence[id].append(entry)  // nodes are added in row order: the common case
      return
    }
    if last.node == node { return }  // an image listed twice under one name
    // An updated node registers its images again: keep ascending node order.
    let at = presence[id].firstIndex { $0.node >= node }!
    if presence[id][at].node != node { presence[id].insert(entry, at: at) }
  }
}

/// Interns equal values to dense ids; the first occurrence is id 0.
public struct Interner<Value: Hashable & Sendable>: Sendable {
  public private(set) var values: [Value] = []
  private var index: [Value: UInt32] = [:]
  public init() {}
  public mutating func intern(_ v: Value) -> UInt32 {
    if let id = index[v] { return id }
    let id = UInt32(values.count)
    values.append(v)
    index[v] = id
    return id
  }
  public subscript(id: UInt32) -> Value { values[Int(id)] }
  public var count: Int { values.count }
  /// The id of `v` if it was interned.
  public func id(of v: Value) -> UInt32? { index[v] }
}
