/// A node taint's effect.
public enum TaintEffect: String, Hashable, Sendable, CaseIterable {
  case noSchedule = "NoSchedule"
  case preferNoSchedule = "PreferNoSchedule"
  case noExecute = "NoExecute"

  /// Effects the TaintToleration filter enforces.
  public var isHard: Bool { self != .preferNoSchedule }
}

public struct Taint: Hashable, Sendable, CustomStringConvertible {
  public var key: String
  public var value: String
  public var effect: TaintEffect

  public init(key: String, value: String = "", effect: TaintEffect) {
    self.key = key
    self.value = value
    self.effect = effect
  }

  /// `dedicated=true:NoSchedule`, the kubectl spelling.
  public var description: String {
    value.isEmpty ? "\(key):\(effect.rawValue)" : "\(key)=\(value):\(effect.rawValue)"
  }
}

public struct Toleration: Hashable, Sendable {
  public enum Operator: String, Hashable, Sendable {
    case equal = "Equal"
    case exists = "Exists"
  }

  /// Empty matches every key (only with `Exists`).
  public var key: String
  public var `operator`: Operator
  public var value: String
  /// nil matches every effect.
  public var effect: TaintEffect?
  /// How long a NoExecute taint is tolerated before eviction; nil: for ever.
  public var tolerationSeconds: Int64?

  public init(
    key: String = "", operator: Operator = .equal, value: String = "", effect: TaintEffect? = nil
  ) {
    self.key = key
    self.operator = `operator`
    self.value = value
    self.effect = effect
  }

  /// `Toleration.ToleratesTaint`: the effect (if set) and key (if set) match, and the operator
  /// holds — `Exists` needs nothing more, `Equal` needs equal values.
  @inlinable
  public func tolerates(_ taint: Taint) -> Bool {
    if let effect, effect != taint.effect { return false }
    if !key.isEmpty && key != taint.key { return false }
    switch self.operator {
    case .exists: return true
    case .equal: return value == taint.value
    }
  }
}

extension Array where Element == Toleration {
  /// Whether any toleration tolerates `taint` (`TolerationsTolerateTaint`).
  ///
  /// Concrete and inlinable: a generic `Sequence` version called from another module runs
  /// unspecialised and allocates an iterator frame per call.
  @inlinable
  public func tolerate(_ taint: Taint) -> Bool {
    for t in self where t.tolerates(taint) { return true }
    return false
  }
}

/// The taint every cordoned node implicitly carries for NodeUnschedulable.
public let unschedulableTaintKey = "node.kubernetes.io/unschedulable"
