/// One `podAffinityTerm` of a pod's `podAffinity` or `podAntiAffinity`.
public struct PodAffinityTerm: Hashable, Sendable {
  /// nil matches no pod (upstream's `LabelSelectorAsSelector(nil)`); an empty selector matches all.
  public var labelSelector: LabelSelector?
  public var namespaces: [String]
  /// nil selects no namespace; an empty selector selects every namespace.
  public var namespaceSelector: LabelSelector?
  public var topologyKey: String
  public var matchLabelKeys: [String]
  public var mismatchLabelKeys: [String]

  public init(
    labelSelector: LabelSelector?, namespaces: [String] = [],
    namespaceSelector: LabelSelector? = nil,
    topologyKey: String, matchLabelKeys: [String] = [], mismatchLabelKeys: [String] = []
  ) {
    self.labelSelector = labelSelector
    self.namespaces = namespaces
    self.namespaceSelector = namespaceSelector
    self.topologyKey = topologyKey
    self.matchLabelKeys = matchLabelKeys
    self.mismatchLabelKeys = mismatchLabelKeys
  }

  /// The term as the API server stores it at pod creation: each `matchLabelKeys` key the pod
  /// carries becomes `key In (value)`, each `mismatchLabelKeys` key `key NotIn (value)`; keys the
  /// pod lacks are dropped. The scheduler only ever sees the folded selector.
  public func folded(podLabels: [String: String]) -> PodAffinityTerm {
    var t = self
    t.matchLabelKeys = []
    t.mismatchLabelKeys = []
    guard var s = labelSelector else { return t }
    for key in matchLabelKeys {
      if let v = podLabels[key] {
        s.matchExpressions.append(.init(key: key, operator: .in, values: [v]))
      }
    }
    for key in mismatchLabelKeys {
      if let v = podLabels[key] {
        s.matchExpressions.append(.init(key: key, operator: .notIn, values: [v]))
      }
    }
    t.labelSelector = s
    return t
  }
}

public struct WeightedPodAffinityTerm: Hashable, Sendable {
  /// 1…100.
  public var weight: Int32
  public var term: PodAffinityTerm
  public init(weight: Int32, term: PodAffinityTerm) {
    self.weight = weight
    self.term = term
  }
}

/// `podAffinity` or `podAntiAffinity`: hard terms (all must hold) and weighted soft ones.
public struct PodAffinityRules: Hashable, Sendable {
  public var required: [PodAffinityTerm]
  public var preferred: [WeightedPodAffinityTerm]
  public init(required: [PodAffinityTerm] = [], preferred: [WeightedPodAffinityTerm] = []) {
    self.required = required
    self.preferred = preferred
  }
  public var isEmpty: Bool { required.isEmpty && preferred.isEmpty }

  func folded(podLabels: [String: String]) -> PodAffinityRules {
    PodAffinityRules(
      required: required.map { $0.folded(podLabels: podLabels) },
      preferred: preferred.map {
        WeightedPodAffinityTerm(weight: $0.weight, term: $0.term.folded(podLabels: podLabels))
      })
  }
}

/// A term's pod predicate with its namespaces resolved for the pod that holds the term: a pod
/// matches when its namespace is listed or its namespace's labels match `namespaceSelector`,
/// and its labels match `selector` (upstream's `AffinityTerm.Matches`).
public struct AffinityClause: Hashable, Sendable {
  /// Namespace ids, sorted and unique.
  public var namespaces: [UInt32]
  public var namespaceSelector: LabelSelector?
  public var selector: LabelSelector?

  public init(
    namespaces: [UInt32], namespaceSelector: LabelSelector? = nil, selector: LabelSelector?
  ) {
    self.namespaces = namespaces.count <= 1 ? namespaces : Array(Set(namespaces)).sorted()
    self.namespaceSelector = namespaceSelector
    self.selector = selector
  }

  /// `namespaceLabels` is asked for only when the namespace list does not decide.
  public func matches(
    namespace: UInt32, namespaceLabels: () -> [String: String], labels: [String: String]
  ) -> Bool {
    guard
      namespaces.contains(namespace)
        || namespaceSelector.map({ $0.matches(namespaceLabels()) }) == true
    else { return false }
    return selector?.matches(labels) ?? false
  }
}

/// A pod-affinity term some bound pod holds, resolved against that pod's namespace. The cluster
/// keeps, per node, how many bound pods hold each such term, so "existing pods' terms" cost
/// O(nodes) per distinct term in a scheduling cycle rather than a walk over every pod.
public struct HeldAffinityTerm: Hashable, Sendable {
  public enum Kind: UInt8, Hashable, Sendable {
    case requiredAffinity, requiredAntiAffinity, preferredAffinity, preferredAntiAffinity
  }
  public var kind: Kind
  public var clause: AffinityClause
  public var topologyKey: String
  /// The preferred term's weight; 0 for required terms.
  public var weight: Int32

  public init(kind: Kind, clause: AffinityClause, topologyKey: String, weight: Int32) {
    self.kind = kind
    self.clause = clause
    self.topologyKey = topologyKey
    self.weight = weight
  }
}

/// Bound pods that satisfy every clause: what a topology spread constraint or an affinity term
/// counts. Pods of one namespace matching one selector for spreading; for pod affinity one
/// clause per term, or all of a pod's required affinity terms at once (upstream counts pods
/// matching every term).
public struct PodMatcher: Hashable, Sendable {
  public var clauses: [AffinityClause]

  public init(clauses: [AffinityClause]) { self.clauses = clauses }

  public init(namespace: UInt32, selector: LabelSelector) {
    clauses = [AffinityClause(namespaces: [namespace], selector: selector)]
  }

  public func matches(
    namespace: UInt32, namespaceLabels: () -> [String: String], labels: [String: String]
  ) -> Bool {
    clauses.allSatisfy {
      $0.matches(namespace: namespace, namespaceLabels: namespaceLabels, labels: labels)
    }
  }
}
