/// Resource names the tables treat as first-class columns; everything else is a scalar
/// (extended resources such as `nvidia.com/gpu`, hugepages, attachable volumes).
public enum ResourceName {
  // Literals behind inlinable getters: a stored global read from another module goes through
  // its one-time-initialisation check at every read, and per-pod loops compare these.
  @inlinable public static var cpu: String { "cpu" }
  @inlinable public static var memory: String { "memory" }
  @inlinable public static var ephemeralStorage: String { "ephemeral-storage" }
  @inlinable public static var pods: String { "pods" }

  /// Extended resources live outside the `kubernetes.io/` namespace and contain a `/`
  /// (`v1helper.IsExtendedResourceName`, less its quota-prefix rule).
  public static func isExtended(_ name: String) -> Bool {
    guard name.contains("/") else { return false }
    if name.hasPrefix("requests.") { return false }
    let domain = name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
    return !(domain == "kubernetes.io" || domain.hasSuffix(".kubernetes.io"))
  }

  /// A resource name the API accepts: a qualified name — an optional DNS-subdomain prefix and a
  /// slash, then 1–63 characters of letters, digits, `-`, `_` and `.`, starting and ending with
  /// a letter or digit (`nvidia.com/gpu`, `hugepages-2Mi`, `cpu`).
  public static func isValid(_ name: String) -> Bool {
    // On the UTF-8 bytes: every accepted character is ASCII, so a byte test is the rule itself
    // (Character properties cost a Unicode table lookup per character, a few % of YAML loading).
    // SAFETY: the buffer is used only inside the closure.
    name.utf8.withContiguousStorageIfAvailable(isValid)
      ?? Array(name.utf8).withUnsafeBufferPointer(isValid)
  }

  /// `isValid` on a name's UTF-8 bytes.
  static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    // SAFETY: every read is by index within the buffer (slices and `first`/`last`).
    func alnum(_ c: UInt8) -> Bool {
      (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
    }
    func lowerOrDigit(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) }
    let slash = UInt8(ascii: "/")
    let dash = UInt8(ascii: "-")
    let dot = UInt8(ascii: ".")
    let underscore = UInt8(ascii: "_")
    let slashes = bytes.indices.filter { bytes[$0] == slash }
    guard slashes.count <= 1 else { return false }
    let localStart = slashes.first.map { $0 + 1 } ?? 0
    let local = bytes[localStart...]
    guard (1...63).contains(local.count), alnum(local.first!), alnum(local.last!),
      local.allSatisfy({ alnum($0) || $0 == dash || $0 == underscore || $0 == dot })
    else { return false }
    guard let cut = slashes.first else { return true }
    let prefix = bytes[..<cut]
    return (1...253).contains(prefix.count) && alnum(prefix.first!) && alnum(prefix.last!)
      && prefix.allSatisfy { lowerOrDigit($0) || $0 == dash || $0 == dot }
  }

  /// Scalar resources in the scheduler's sense: extended, hugepages and attachable volumes.
  public static func isScalar(_ name: String) -> Bool {
    isExtended(name) || name.hasPrefix("hugepages-") || name.hasPrefix("attachable-volumes-")
  }
}

/// An interned scalar resource (extended resource, hugepages, …); a column index.
public struct ScalarResourceID: Hashable, Comparable, Sendable {
  public let rawValue: UInt16
  public init(_ rawValue: UInt16) { self.rawValue = rawValue }
  public var index: Int { Int(rawValue) }
  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Resource amounts in the scheduler's integer units: millicores for CPU, bytes for memory and
/// ephemeral storage, counts for pods and scalar resources (`Quantity.Value()`).
public struct ResourceAmounts: Hashable, Sendable {
  public var cpuMillis: Int64 = 0
  public var memoryBytes: Int64 = 0
  public var ephemeralStorageBytes: Int64 = 0
  public var pods: Int64 = 0
  /// Scalar resources by name, sorted by name; zero entries are kept (a zero request is a
  /// request, and a zero allocatable is still advertised).
  public var scalars: [(name: String, amount: Int64)] = []

  public init() {}

  /// The largest amount of one resource Berth accepts, in scheduler units (millicores, bytes,
  /// counts): 2^53 — 8 PiB of memory, 9 × 10^12 cores.
  ///
  /// Bounding inputs here keeps every score exact: `(alloc − req)·100` and `req·100` stay below
  /// 2^61 for amounts up to 2^53 plus one pod's request, so the integer scorers never overflow
  /// (kube-scheduler's int64 arithmetic wraps silently past about 9 × 10^16). Readers reject a
  /// larger amount with an error naming the field.
  public static let limit: Int64 = 1 << 53

  public init(
    cpuMillis: Int64 = 0, memoryBytes: Int64 = 0, ephemeralStorageBytes: Int64 = 0,
    pods: Int64 = 0, scalars: [(name: String, amount: Int64)] = []
  ) {
    self.cpuMillis = cpuMillis
    self.memoryBytes = memoryBytes
    self.ephemeralStorageBytes = ephemeralStorageBytes
    self.pods = pods
    self.scalars = scalars.sorted { $0.name < $1.name }
  }

  public func scalar(_ name: String) -> Int64? { scalars.first { $0.name == name }?.amount }

  public static func == (a: Self, b: Self) -> Bool {
    a.cpuMillis == b.cpuMillis && a.memoryBytes == b.memoryBytes
      && a.ephemeralStorageBytes == b.ephemeralStorageBytes && a.pods == b.pods
      && a.scalars.map(\.name) == b.scalars.map(\.name)
      && a.scalars.map(\.amount) == b.scalars.map(\.amount)
  }

  public func hash(into h: inout Hasher) {
    h.combine(cpuMillis)
    h.combine(memoryBytes)
    h.combine(ephemeralStorageBytes)
    h.combine(pods)
    for s in scalars {
      h.combine(s.name)
      h.combine(s.amount)
    }
  }
}

/// A `ResourceList` as written in a manifest: name → exact quantity, ordered by name.
public struct ResourceList: Hashable, Sendable {
  public private(set) var entries: [(name: String, quantity: Quantity)] = []

  public init() {}

  public init(_ pairs: [(String, Quantity)]) {
    for (name, q) in pairs { self[name] = q }
  }

  public var isEmpty: Bool { entries.isEmpty }

  public subscript(name: String) -> Quantity? {
    get { entries.first { $0.name == name }?.quantity }
    set {
      if let i = entries.firstIndex(where: { $0.name == name }) {
        if let newValue { entries[i].quantity = newValue } else { entries.remove(at: i) }
      } else if let newValue {
        let at = entries.firstIndex { $0.name > name } ?? entries.count
        entries.insert((name, newValue), at: at)
      }
    }
  }

  public func contains(_ name: String) -> Bool { entries.contains { $0.name == name } }

  /// Adds every entry of `other` (exact quantity sums).
  /// - Throws: `outOfRange` when a sum needs more than 128 bits.
  public mutating func add(_ other: ResourceList) throws(QuantityError) {
    for (name, q) in other.entries { self[name] = try (self[name] ?? .zero).adding(q) }
  }

  /// Raises each entry to at least `other`'s (`maxResourceList`).
  public mutating func raise(to other: ResourceList) {
    for (name, q) in other.entries { self[name] = Quantity.max(self[name] ?? .zero, q) }
  }

  /// Converts to scheduler units: CPU with `MilliValue()`, everything else with `Value()`.
  /// - Throws: `aboveLimit` for an amount over `ResourceAmounts.limit`.
  public func amounts() throws(QuantityError) -> ResourceAmounts {
    var result = ResourceAmounts()
    for (name, q) in entries {
      let amount = try ResourceList.amount(of: name, q)
      switch name {
      case ResourceName.cpu: result.cpuMillis = amount
      case ResourceName.memory: result.memoryBytes = amount
      case ResourceName.ephemeralStorage: result.ephemeralStorageBytes = amount
      case ResourceName.pods: result.pods = amount
      default:
        if ResourceName.isScalar(name) { result.scalars.append((name, amount)) }
      }
    }
    return result
  }

  /// One quantity in scheduler units — millicores for CPU, `Value()` otherwise — checked against
  /// `ResourceAmounts.limit`.
  public static func amount(of name: String, _ q: Quantity) throws(QuantityError) -> Int64 {
    let amount: Int64
    do throws(QuantityError) {
      amount = name == ResourceName.cpu ? try q.milliValue() : try q.value()
    } catch {
      // Past Int64 is past the limit too; say which limit.
      throw q.isNegative ? error : .aboveLimit(q.description, resource: name)
    }
    guard amount <= ResourceAmounts.limit else { throw .aboveLimit(q.description, resource: name) }
    return amount
  }

  public static func == (a: Self, b: Self) -> Bool {
    a.entries.map(\.name) == b.entries.map(\.name)
      && a.entries.map(\.quantity) == b.entries.map(\.quantity)
  }

  public func hash(into h: inout Hasher) {
    for e in entries {
      h.combine(e.name)
      h.combine(e.quantity)
    }
  }
}
