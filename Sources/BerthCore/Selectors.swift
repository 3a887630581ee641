/// One requirement of a node selector term (`matchExpressions` or `matchFields`).
public struct NodeSelectorRequirement: Hashable, Sendable {
  public enum Operator: String, Hashable, Sendable, CaseIterable {
    case `in` = "In"
    case notIn = "NotIn"
    case exists = "Exists"
    case doesNotExist = "DoesNotExist"
    case gt = "Gt"
    case lt = "Lt"
  }

  public var key: String
  public var `operator`: Operator
  public var values: [String]

  public init(key: String, operator: Operator, values: [String] = []) {
    self.key = key
    self.operator = `operator`
    self.values = values
  }

  /// `labels.Requirement.Matches` against a label value (nil when the key is absent).
  ///
  /// `NotIn` and `DoesNotExist` match an absent key; `Gt`/`Lt` need the label and the single
  /// required value to parse as base-10 int64.
  public func matches(labelValue: String?) -> Bool {
    switch self.operator {
    case .in: return labelValue.map(values.contains) ?? false
    case .notIn: return labelValue.map { !values.contains($0) } ?? true
    case .exists: return labelValue != nil
    case .doesNotExist: return labelValue == nil
    case .gt, .lt:
      guard let labelValue, let lhs = Int64(labelValue), values.count == 1,
        let rhs = Int64(values[0])
      else { return false }
      return self.operator == .gt ? lhs > rhs : lhs < rhs
    }
  }

  /// Whether this requirement can be compiled at all (`nodeSelectorRequirementsAsSelector`):
  /// In/NotIn need values, Exists/DoesNotExist none, Gt/Lt exactly one integer.
  public var isWellFormed: Bool {
    switch self.operator {
    case .in, .notIn: return !values.isEmpty
    case .exists, .doesNotExist: return values.isEmpty
    case .gt, .lt: return values.count == 1 && Int64(values[0]) != nil
    }
  }
}

/// A node selector term: all expressions and all fields must hold.
public struct NodeSelectorTerm: Hashable, Sendable {
  public var matchExpressions: [NodeSelectorRequirement]
  /// Only `metadata.name` with In/NotIn and exactly one value is meaningful upstream.
  public var matchFields: [NodeSelectorRequirement]

  public init(
    matchExpressions: [NodeSelectorRequirement] = [], matchFields: [NodeSelectorRequirement] = []
  ) {
    self.matchExpressions = matchExpressions
    self.matchFields = matchFields
  }

  public var isEmpty: Bool { matchExpressions.isEmpty && matchFields.isEmpty }

  /// Whether a field requirement is one upstream accepts (`metadata.name`, In/NotIn, one value).
  public static func isValidField(_ r: NodeSelectorRequirement) -> Bool {
    r.key == "metadata.name" && (r.operator == .in || r.operator == .notIn) && r.values.count == 1
  }

  /// Term match against a node's labels and name. A term that fails to parse matches nothing.
  public func matches(labels: [String: String], nodeName: String) -> Bool {
    guard !isEmpty else { return false }
    for r in matchExpressions {
      guard r.isWellFormed, r.matches(labelValue: labels[r.key]) else { return false }
    }
    for f in matchFields {
      guard NodeSelectorTerm.isValidField(f), f.matches(labelValue: nodeName) else { return false }
    }
    return true
  }
}

/// `requiredDuringSchedulingIgnoredDuringExecution`: terms are ORed; empty terms are dropped,
/// so a selector of only empty terms matches no node.
public struct NodeSelector: Hashable, Sendable {
  public var terms: [NodeSelectorTerm]
  public init(terms: [NodeSelectorTerm]) { self.terms = terms }

  public func matches(labels: [String: String], nodeName: String) -> Bool {
    terms.contains { $0.matches(labels: labels, nodeName: nodeName) }
  }
}

public struct PreferredSchedulingTerm: Hashable, Sendable {
  public var weight: Int32
  public var preference: NodeSelectorTerm
  public init(weight: Int32, preference: NodeSelectorTerm) {
    self.weight = weight
    self.preference = preference
  }
}

public struct NodeAffinity: Hashable, Sendable {
  public var required: NodeSelector?
  public var preferred: [PreferredSchedulingTerm]
  public init(required: NodeSelector? = nil, preferred: [PreferredSchedulingTerm] = []) {
    self.required = required
    self.preferred = preferred
  }
}
