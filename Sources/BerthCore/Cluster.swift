/// Nodes, pods and the interning registries behind their columns; the one owner of bindings.
///
/// `bind` and `unbind` are the only mutations of placement, and they keep every aggregate exact:
/// a node's requested sums and pod count equal the sums over the pods bound to it. Tests call
/// `checkInvariants()` after every mutation.
public final class Cluster {
  public let nodes: NodeTable
  public let pods: PodTable
  @usableFromInline @exclusivity(unchecked) var _labels = LabelRegistry()
  @inlinable public var labels: LabelRegistry { _labels }
  @usableFromInline @exclusivity(unchecked) var _taints = TaintRegistry()
  @inlinable public var taints: TaintRegistry { _taints }
  @usableFromInline @exclusivity(unchecked) var _scalars = ScalarRegistry()
  @inlinable public var scalars: ScalarRegistry { _scalars }
  @usableFromInline @exclusivity(unchecked) var _images = ImageRegistry()
  @inlinable public var images: ImageRegistry { _images }
  @exclusivity(unchecked) public private(set) var gpuModels = GPUModelRegistry()
  /// Pod matchers (namespace + label selector) that topology spread constraints count, each with
  /// a per-node count of the bound pods it matches, kept exact by `bind` and `unbind`.
  @usableFromInline @exclusivity(unchecked) var _matchers = Interner<PodMatcher>()
  @inlinable public var matchers: Interner<PodMatcher> { _matchers }
  @usableFromInline @exclusivity(unchecked) var _matcherCounts: [Column<Int32>] = []
  @inlinable public var matcherCounts: [Column<Int32>] { _matcherCounts }
  /// Bound pods each matcher matches, over all nodes.
  @usableFromInline @exclusivity(unchecked) var _matcherTotals: [Int64] = []
  @inlinable public var matcherTotals: [Int64] { _matcherTotals }
  /// Per matcher id, whether `collectIdleMatchers` freed it: no counts are kept for it and no
  /// pod's match list names it; asking for it again counts it afresh.
  @exclusivity(unchecked) private var matcherRetired: [Bool] = []
  /// Bumped by every collection that freed a matcher: what plugins derived from matcher ids and
  /// domain counters (spread plans, resolved affinity terms) is keyed on it.
  @usableFromInline @exclusivity(unchecked) var _matcherEpoch: UInt64 = 0
  @inlinable public var matcherEpoch: UInt64 { _matcherEpoch }
  /// Pod-affinity terms that bound pods hold, with per node the number of bound pods holding
  /// each (a pod listing a term twice counts twice) and the cluster-wide total; kept exact by
  /// `bind` and `unbind`.
  @usableFromInline @exclusivity(unchecked) var _heldTerms = Interner<HeldAffinityTerm>()
  @inlinable public var heldTerms: Interner<HeldAffinityTerm> { _heldTerms }
  @usableFromInline @exclusivity(unchecked) var _heldCounts: [Column<Int32>] = []
  @inlinable public var heldCounts: [Column<Int32>] { _heldCounts }
  @usableFromInline @exclusivity(unchecked) var _heldTotals: [Int] = []
  @inlinable public var heldTotals: [Int] { _heldTotals }
  /// The pods bound to each node as an intrusive doubly linked list (-1 ends it), so a node's
  /// pods are listed without scanning the pod table; kept by `bind` and `unbind`.
  // Columns, not arrays: `PreemptionView` reads them through stable base pointers.
  @exclusivity(unchecked) private var firstPodOnNode = Column<Int32>(repeating: -1, count: 0)
  @exclusivity(unchecked) private var nextPodOnNode = Column<Int32>(repeating: -1, count: 0)
  @exclusivity(unchecked) private var previousPodOnNode: [Int32] = []
  /// Bound pods per priority value (entries at zero are removed).
  /// Bound pods per priority, ascending by priority (few distinct values: a scan, no hashing).
  @exclusivity(unchecked) private var boundByPriority: [(priority: Int32, count: Int)] = []
  /// PodDisruptionBudgets, in the order added.
  @exclusivity(unchecked) public private(set) var disruptionBudgets: [PodDisruptionBudgetSpec] = []
  /// Labels of declared Namespace objects, by name.
  @exclusivity(unchecked) public private(set) var declaredNamespaces: [String: [String: String]] =
    [:]
  /// Per-domain counters of matchers and held terms, registered on first use and kept exact by
  /// `bind` and `unbind`: a scheduling cycle reads a domain's count in O(1).
  @usableFromInline @exclusivity(unchecked) var _domainCounters: [DomainCounter] = []
  @inlinable public var domainCounters: [DomainCounter] { _domainCounters }
  @exclusivity(unchecked) private var domainCounterIndex: [DomainCounter.Source: Int] = [:]
  /// Counter indices per matcher id and per held-term id.
  @exclusivity(unchecked) private var countersOfMatcher: [[Int]] = []
  @exclusivity(unchecked) private var countersOfHeld: [[Int]] = []
  /// Matcher ids matching pods of a (label set, namespace), cleared when a matcher is added.
  @exclusivity(unchecked) private var matchedCache: [UInt64: [UInt32]] = [:]
  /// The last (labels, namespace) looked up: runs of identical pods skip the hashing.
  @exclusivity(unchecked) private var lastMatched: (key: UInt64, ids: [UInt32])?
  /// Held-term ids of pods of a (constraint set, namespace).
  @exclusivity(unchecked) private var heldCache: [UInt64: [UInt32]] = [:]
  /// Bumped whenever a node is added or its spec changes: what plugins derive from how the nodes
  /// look — compiled selectors, spread plans, image spreads — is keyed on it.
  @usableFromInline @exclusivity(unchecked) var _nodeShapeVersion: UInt64 = 0
  @inlinable public var nodeShapeVersion: UInt64 { _nodeShapeVersion }
  /// The node tree over live rows, the walk it lists (made again after a change to the tree),
  /// rows of removed nodes not yet reusable (`releaseRemovedNodeRows`) and reusable ones
  /// (ascending: the lowest is taken first).
  @exclusivity(unchecked) private var tree = NodeTree()
  /// Per label key and value id, the nodes carrying that value (removed nodes not counted):
  /// which topology domains exist now — values once interned may have no node left.
  @exclusivity(unchecked) private var nodesWithValue: [[Int32]] = []
  /// The same as bytes, 1 where some node carries the value: copied whole per cycle.
  @exclusivity(unchecked) private var valueCarried: [[UInt8]] = []
  @exclusivity(unchecked) private var walkCache: NodeWalk?
  @exclusivity(unchecked) private var rowOrderWalkCache: NodeWalk?
  @exclusivity(unchecked) private var retiredNodeRows: [Int] = []
  @exclusivity(unchecked) private var freeNodeRows: [Int] = []
  /// The kinds of mutation recorded as `ClusterChange`s for an engine to deliver
  /// (ClusterChange.swift): those some component watches; none by default, so a cluster nobody
  /// watches records nothing.
  @exclusivity(unchecked) public var recordedKinds: ClusterChangeKinds = []
  /// Recorded changes are `recordedChanges[changeCursor..<recordedCount]`; the buffer is reused.
  @usableFromInline @exclusivity(unchecked) var recordedChanges: [ClusterChange] = []
  @usableFromInline @exclusivity(unchecked) var recordedCount = 0
  @usableFromInline @exclusivity(unchecked) var changeCursor = 0
  /// Nesting of `whatIf` blocks, whose mutations are not changes.
  @exclusivity(unchecked) var whatIfDepth = 0

  /// Builds a cluster whose node rows follow kube-scheduler's node-tree order for `nodes` added
  /// in the given order.
  /// - Precondition: node names are unique.
  public convenience init(nodes specs: [NodeSpec]) {
    self.init()
    let order = NodeTree.iterationOrder(zoneKeys: specs.map(\.zoneKey))
    for i in order { addNode(specs[i]) }
  }

  public init() {
    nodes = NodeTable()
    pods = PodTable()
  }

  private init(nodes: NodeTable, pods: PodTable) {
    self.nodes = nodes
    self.pods = pods
  }

  /// A deep copy: the two clusters share nothing.
  public func copy() -> Cluster {
    let c = Cluster(nodes: nodes.copy(), pods: pods.copy())
    c._labels = _labels
    c._taints = _taints
    c._scalars = _scalars
    c._images = _images
    c.gpuModels = gpuModels
    c._matchers = _matchers
    c._matcherCounts = _matcherCounts.map { $0.copy() }
    c._matcherTotals = _matcherTotals
    c.matcherRetired = matcherRetired
    c._matcherEpoch = _matcherEpoch
    c._heldTerms = _heldTerms
    c._heldCounts = _heldCounts.map { $0.copy() }
    c._heldTotals = _heldTotals
    c.declaredNamespaces = declaredNamespaces
    c.disruptionBudgets = disruptionBudgets
    c.boundByPriority = boundByPriority
    c.firstPodOnNode = firstPodOnNode.copy()
    c.nextPodOnNode = nextPodOnNode.copy()
    c.previousPodOnNode = previousPodOnNode
    c._domainCounters = _domainCounters.map {
      DomainCounter(source: $0.source, key: $0.key, counts: $0.counts.copy(), total: $0.total)
    }
    c.domainCounterIndex = domainCounterIndex
    c.countersOfMatcher = countersOfMatcher
    c.countersOfHeld = countersOfHeld
    c.matchedCache = matchedCache
    c.lastMatched = lastMatched
    c.heldCache = heldCache
    c._nodeShapeVersion = _nodeShapeVersion
    c.tree = tree
    c.nodesWithValue = nodesWithValue
    c.valueCarried = valueCarried
    c.walkCache = walkCache
    c.rowOrderWalkCache = rowOrderWalkCache
    c.retiredNodeRows = retiredNodeRows
    c.freeNodeRows = freeNodeRows
    return c
  }

  /// Adds a batch of nodes. Rows are taken in the order the node tree lists the batch, so nodes
  /// added to an empty cluster lie in walk order (one run); the tree itself is the same as for
  /// the batch added in the given order.
  public func addNodes(_ specs: [NodeSpec]) {
    for i in NodeTree.iterationOrder(zoneKeys: specs.map(\.zoneKey)) { addNode(specs[i]) }
  }

  /// Adds a node: into the lowest free row of a removed node, else as the last row; it joins
  /// the end of its zone in the node tree.
  /// - Precondition: no node of that name exists.
  @discardableResult
  public func addNode(_ spec: NodeSpec) -> NodeID {
    precondition(nodes.id(named: spec.name) == nil, "duplicate node name \(spec.name)")
    let (labelIDs, taintIDs, scalarIDs) = intern(spec)
    let modelID = spec.gpus.map { gpuModels.intern($0.model) } ?? 0
    let id: NodeID
    if freeNodeRows.isEmpty {
      for c in _matcherCounts { c.append(0) }
      for c in _heldCounts { c.append(0) }
      firstPodOnNode.append(-1)
      id = nodes.append(
        spec, labelIDs: labelIDs, taintIDs: taintIDs, scalarIDs: scalarIDs, gpuModelID: modelID)
    } else {
      // The row's counts are zero and its pod list empty: nothing was bound when it was removed.
      id = NodeID(UInt32(freeNodeRows.removeFirst()))
      nodes.reuse(
        id, for: spec, labelIDs: labelIDs, taintIDs: taintIDs, scalarIDs: scalarIDs,
        gpuModelID: modelID)
    }
    for c in _domainCounters {
      while c.counts.count < _labels.domains[c.key].count { c.counts.append(0) }
    }
    for image in spec.images {
      for name in image.names { _images.add(name: name, node: id, sizeBytes: image.sizeBytes) }
    }
    countLabelValues(of: id.index, by: 1)
    tree.add(row: id.index, zoneKey: spec.zoneKey)
    walkCache = nil
    rowOrderWalkCache = nil
    _nodeShapeVersion &+= 1
    assert(firstPodOnNode.count == nodes.count, "a pod-list head per node")
    assert(nodes.columnLengthsAreEqual(), "node columns differ in length")
    record(.nodeAdded, .nodeAdded(id))
    return id
  }

  /// Deletes a node: it leaves the node tree (and so every later walk), its row is emptied —
  /// no capacity, labels or taints; its name free at once — and is taken by a node added after
  /// `releaseRemovedNodeRows` (until then `nodes.name` still names the old node).
  /// - Precondition: the node exists and no pod is bound to it.
  public func removeNode(_ node: NodeID) {
    precondition(tree.contains(row: node.index), "node row \(node.index) does not exist")
    precondition(firstPodOnNode[node.index] < 0, "pods are bound to \(nodes.name(node))")
    let old = nodes.specs[node.index]
    countLabelValues(of: node.index, by: -1)
    tree.remove(row: node.index)
    walkCache = nil
    rowOrderWalkCache = nil
    _images.remove(node: node)
    nodes.clear(node)
    retiredNodeRows.append(node.index)
    _nodeShapeVersion &+= 1
    record(.nodeDeleted, .nodeDeleted(node, old: old))
  }

  /// Adds `delta` to the node counts of the label values row `row` carries.
  private func countLabelValues(of row: Int, by delta: Int32) {
    for k in 0..<nodes.labelValues.count {
      let v = Int(nodes.labelValues[k][row])
      guard v != 0 else { continue }
      while nodesWithValue.count <= k {
        nodesWithValue.append([])
        valueCarried.append([])
      }
      while nodesWithValue[k].count <= v {
        nodesWithValue[k].append(0)
        valueCarried[k].append(0)
      }
      nodesWithValue[k][v] += delta
      valueCarried[k][v] = nodesWithValue[k][v] > 0 ? 1 : 0
    }
  }

  /// Writes 1 to `out[v]` for each value `v` in `1..<count` of label key `key` that some node
  /// carries, 0 for the others: the topology domains that exist now.
  public func markValuesCarried(key: Int, into out: UnsafeMutablePointer<UInt8>, count: Int) {
    // SAFETY: `out` holds `count` bytes (the caller's); at most that many are written.
    guard count > 1 else { return }
    let carried = key < valueCarried.count ? valueCarried[key] : []
    let copied = max(min(carried.count, count) - 1, 0)
    carried.withUnsafeBufferPointer { b in
      if copied > 0 { (out + 1).update(from: b.baseAddress! + 1, count: copied) }
    }
    (out + 1 + copied).update(repeating: 0, count: count - 1 - copied)
  }

  /// The nodes carrying value `value` of label key `key` (0 for a value no node has any more).
  public func nodesCarrying(key: Int, value: Int) -> Int {
    key < nodesWithValue.count && value < nodesWithValue[key].count
      ? Int(nodesWithValue[key][value]) : 0
  }

  /// Makes the rows of nodes removed so far — those `releasable` allows — available to nodes
  /// added from now on.
  public func releaseRemovedNodeRows(where releasable: (Int) -> Bool = { _ in true }) {
    guard !retiredNodeRows.isEmpty else { return }
    var kept: [Int] = []
    let free = freeNodeRows.count
    for row in retiredNodeRows {
      if releasable(row) { freeNodeRows.append(row) } else { kept.append(row) }
    }
    // Sorted only when rows were released: rows kept back are asked about again after every
    // settle, and the free list can hold thousands of rows.
    if freeNodeRows.count > free { freeNodeRows.sort() }
    retiredNodeRows = kept
  }

  /// Whether `node` is a node of the cluster (not the row of a removed one).
  @inlinable public func exists(_ node: NodeID) -> Bool {
    node.index < nodes.count && nodes.exists[node.index] != 0
  }

  /// The nodes in the order a scheduling cycle walks them (kube-scheduler's snapshot list).
  public var walk: NodeWalk {
    if let w = walkCache { return w }
    let w = NodeWalk(order: tree.list(), rowCount: nodes.count)
    walkCache = w
    return w
  }

  /// The same nodes as `walk`, in row order: every row but those of removed nodes. A scheduler
  /// filters and scores a walk split into short runs in this order.
  public var rowOrderWalk: NodeWalk {
    if let w = rowOrderWalkCache { return w }
    var runs: [Range<Int>] = []
    var from = 0
    for row in (retiredNodeRows + freeNodeRows).sorted() {
      if row > from { runs.append(from..<row) }
      from = row + 1
    }
    if nodes.count > from { runs.append(from..<nodes.count) }
    let w = NodeWalk(rowRuns: runs, rowCount: nodes.count)
    rowOrderWalkCache = w
    return w
  }

  /// Nodes of the cluster (rows of removed nodes not counted).
  public var nodeCount: Int { tree.count }

  /// Registers a node spec's label keys and values, taints and extended resources (growing the
  /// node columns for new ones) and returns their ids.
  private func intern(_ spec: NodeSpec) -> (
    labels: [(key: Int, value: UInt32)], taints: [Int], scalars: [(ScalarResourceID, Int64)]
  ) {
    var labelIDs: [(key: Int, value: UInt32)] = []
    for (key, value) in spec.labels.sorted(by: { $0.key < $1.key }) {
      let (k, isNew) = _labels.internKey(key)
      if isNew { nodes.addLabelKey() }
      labelIDs.append((k, _labels.intern(value: value, key: k)))
    }
    let taintIDs = spec.taints.map { _taints.intern($0) }
    nodes.widenTaints(to: _taints.words)
    var scalarIDs: [(ScalarResourceID, Int64)] = []
    for (name, amount) in spec.allocatable.scalars {
      let (r, isNew) = _scalars.intern(name)
      if isNew { nodes.addScalarResource() }
      scalarIDs.append((r, amount))
    }
    return (labelIDs, taintIDs, scalarIDs)
  }

  /// What a node update changed, as upstream types a Node update event.
  public struct NodeChanges: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let allocatable = NodeChanges(rawValue: 1)
    public static let labels = NodeChanges(rawValue: 2)
    /// Taints or the cordon flag (upstream shows `spec.unschedulable` as a taint).
    public static let taints = NodeChanges(rawValue: 4)
    public static let images = NodeChanges(rawValue: 8)
  }

  /// Replaces a node's spec in place — labels, taints, cordon, allocatable, images — as a Node
  /// update does; the pods bound there stay. Per-domain counters of the label keys that changed
  /// are recounted (O(nodes) each; updates are rare next to bindings).
  /// - Precondition: the same name and GPUs, and allocatable still covering the bound pods'
  ///   requests (a shrink below them is the kubelet's eviction business, not modelled).
  /// - Returns: what changed (empty when nothing did: no row is touched then).
  @discardableResult
  public func updateNode(_ node: NodeID, to spec: NodeSpec) -> NodeChanges {
    let i = node.index
    let old = nodes.specs[i]
    precondition(exists(node), "node row \(i) does not exist")
    precondition(spec.name == old.name, "a node update keeps the node's name")
    precondition(spec.gpus == old.gpus, "GPU changes are not modelled")
    var changes: NodeChanges = []
    if spec.allocatable != old.allocatable { changes.insert(.allocatable) }
    if spec.labels != old.labels { changes.insert(.labels) }
    if spec.taints != old.taints || spec.unschedulable != old.unschedulable {
      changes.insert(.taints)
    }
    if spec.images != old.images { changes.insert(.images) }
    guard !changes.isEmpty else { return [] }
    // A shrink may not go below what the bound pods request (an amount already exceeded — an
    // ignored extended resource — may stay where it is).
    func holds(_ new: Int64, requested: Int64, old: Int64) -> Bool { new >= min(requested, old) }
    precondition(
      holds(
        spec.allocatable.cpuMillis, requested: nodes.requestedCPU[i], old: old.allocatable.cpuMillis
      )
        && holds(
          spec.allocatable.memoryBytes, requested: nodes.requestedMemory[i],
          old: old.allocatable.memoryBytes)
        && holds(spec.allocatable.pods, requested: nodes.podCount[i], old: old.allocatable.pods)
        && holds(
          spec.allocatable.ephemeralStorageBytes, requested: nodes.requestedEphemeral[i],
          old: old.allocatable.ephemeralStorageBytes),
      "allocatable below what the node's pods request")
    let (labelIDs, taintIDs, scalarIDs) = intern(spec)
    // The node's value per key before the update (keys new to the cluster read 0).
    let before = (0..<nodes.labelValues.count).map { nodes.labelValues[$0][i] }
    for r in 0..<_scalars.names.count {
      let amount = scalarIDs.first { $0.0.index == r }?.1 ?? 0
      precondition(
        holds(amount, requested: nodes.scalarRequested[r][i], old: nodes.scalarAllocatable[r][i]),
        "allocatable below what the node's pods request")
    }
    countLabelValues(of: i, by: -1)
    nodes.update(node, to: spec, labelIDs: labelIDs, taintIDs: taintIDs, scalarIDs: scalarIDs)
    countLabelValues(of: i, by: 1)
    for c in _domainCounters {
      while c.counts.count < _labels.domains[c.key].count { c.counts.append(0) }
      if c.key >= before.count || before[c.key] != nodes.labelValues[c.key][i] { refill(c) }
    }
    if changes.contains(.images) {
      _images.remove(node: node)
      for image in spec.images {
        for name in image.names { _images.add(name: name, node: node, sizeBytes: image.sizeBytes) }
      }
    }
    if changes.contains(.labels) && old.zoneKey != spec.zoneKey {
      tree.update(row: i, zoneKey: spec.zoneKey)
      walkCache = nil
    }
    _nodeShapeVersion &+= 1
    record(.nodeUpdated, .nodeUpdated(node, old: old, changes: changes))
    return changes
  }

  /// Prepares for `count` more pods (a loader's hint; adding more or fewer is fine).
  public func reservePods(_ count: Int) {
    pods.reserveNames(count)
    nextPodOnNode.reserve(count)
    previousPodOnNode.reserveCapacity(previousPodOnNode.count + count)
  }

  /// Adds a pending pod.
  /// - Throws: a quantity error when a request does not fit the scheduler's integer units.
  @discardableResult
  public func addPod(_ spec: PodSpec) throws(QuantityError) -> PodID {
    let requests = try PodRequests.effective(spec)
    let nonZero = try PodRequests.effective(spec, nonMissing: true)
    var scalarRequests: [ScalarRequest] = []
    for (name, amount) in requests.scalars where amount != 0 {
      let (r, isNew) = _scalars.intern(name)
      if isNew { nodes.addScalarResource() }
      scalarRequests.append(ScalarRequest(resource: r, amount: amount))
    }
    scalarRequests.sort { $0.resource < $1.resource }
    var gpu: (count: UInt8, milli: Int16, models: [UInt16]) = (0, 0, [])
    if let g = spec.gpu, g.count > 0, g.milliPerGPU > 0 {
      precondition(
        g.count <= NodeGPUs.maxPerNode && g.milliPerGPU <= 1000, "GPU request out of range")
      // Models no node has get fresh ids: they simply match no node.
      gpu = (UInt8(g.count), Int16(g.milliPerGPU), g.models.map { gpuModels.intern($0) }.sorted())
    }
    let id = pods.append(
      name: spec.name, namespace: spec.namespace, labels: spec.labels, requests: requests,
      nonZero: nonZero, scalars: scalarRequests, priority: spec.priority,
      constraints: PodConstraints(spec), gpu: gpu)
    linkNewRow(id)
    assert(!pods.isBound(id), "a new pod starts unbound")
    record(.podAdded, .podAdded(id))
    return id
  }

  /// A new pod's row (a new last row or a released one) is on no node's list.
  private func linkNewRow(_ id: PodID) {
    if id.index == nextPodOnNode.count {
      nextPodOnNode.append(-1)
      previousPodOnNode.append(-1)
    } else {
      nextPodOnNode[id.index] = -1
      previousPodOnNode[id.index] = -1
    }
    assert(
      nextPodOnNode.count == pods.count && previousPodOnNode.count == pods.count,
      "pod links per pod")
  }

  /// Frees the row of a pod that is gone, for the next pod added (`PodTable.release`): a long
  /// simulation's table then holds about as many rows as pods live at once.
  /// - Precondition: the pod is unbound and removed, and nothing refers to its row any more
  ///   (the caller's business: timers, queues, owners' lists).
  public func releasePod(_ pod: PodID) { pods.release(pod) }

  /// Adds a pending pod identical to `row` but for its name, as a controller stamps pods out of
  /// one template: nothing is resolved again, each column grows by the row's value.
  /// - Precondition: no pod is named `name`.
  public func addPod(copying row: PodID, name: String) -> PodID {
    let id = pods.appendCopy(of: row, name: name)
    linkNewRow(id)
    record(.podAdded, .podAdded(id))
    return id
  }

  /// Adds `count` pending pods built from `spec` (its own name is ignored), named `namePrefix`
  /// followed by `firstNumber`, `firstNumber + 1`, …: the spec is resolved once and every column
  /// grows by one fill, so a workload of identical pods costs next to nothing per pod.
  /// - Returns: the pods' rows (`PodID(row)`), consecutive.
  public func addPods(_ spec: PodSpec, count: Int, namePrefix: String, firstNumber: Int)
    throws(QuantityError) -> Range<Int>
  {
    guard count > 0 else { return pods.count..<pods.count }
    precondition(pods.releasedCount == 0, "pods added in bulk take new rows only")
    var first = spec
    first.name = namePrefix + String(firstNumber)
    let head = try addPod(first)
    guard count > 1 else { return head.index..<(head.index + 1) }
    nextPodOnNode.append(repeating: -1, count: count - 1)
    previousPodOnNode.append(contentsOf: repeatElement(-1, count: count - 1))
    let rest = pods.appendCopies(
      of: head, count: count - 1, namePrefix: namePrefix, firstNumber: firstNumber + 1)
    if recordedKinds.contains(.podAdded) {
      for r in rest { record(.podAdded, .podAdded(PodID(UInt32(r)))) }
    }
    return head.index..<rest.upperBound
  }

  /// Places a pending pod on a node and adds its requests to the node's sums. A GPU pod takes
  /// the devices in `gpus` (bit i = GPU i), or by default the first fully free devices for a
  /// whole-GPU pod and the tightest fitting device (lowest index on ties) for a sharing pod.
  /// - Precondition: the pod is unbound; a GPU pod's devices exist and have room. Fit of
  ///   everything else is the scheduler's business, not this method's.
  public func bind(_ pod: PodID, to node: NodeID, gpus: UInt8? = nil) {
    precondition(!pods.isBound(pod), "\(pods.name(pod)) is already bound")
    precondition(exists(node), "node row \(node.index) does not exist")
    let want = Int(pods.gpuCount[pod.index])
    if want > 0 {
      let milli = pods.gpuMilli[pod.index]
      guard
        let mask = gpus
          ?? GPUSelection.defaultDevices(count: want, milli: milli, node: node.index, in: nodes)
      else {
        preconditionFailure("\(pods.name(pod)) does not fit the GPUs of \(nodes.name(node))")
      }
      precondition(mask.nonzeroBitCount == want, "GPU assignment must name \(want) device(s)")
      for slot in 0..<NodeGPUs.maxPerNode where mask & (1 << UInt8(slot)) != 0 {
        precondition(
          slot < Int(nodes.gpuCount[node.index])
            && nodes.gpuMilliLeft[node.index * 8 + slot] >= milli,
          "GPU \(slot) of \(nodes.name(node)) has no room for \(pods.name(pod))")
      }
      nodes.adjustGPUs(node.index, mask: mask, milli: milli)
      pods.setGPUAssignment(pod, mask)
    }
    adjust(node, by: pod, sign: 1)
    pods.setNode(pod, node.rawValue)
    countBound(priority: pods.priority[pod.index], by: 1)
    let p = Int32(pod.index)
    let head = firstPodOnNode[node.index]
    nextPodOnNode[pod.index] = head
    previousPodOnNode[pod.index] = -1
    if head >= 0 { previousPodOnNode[Int(head)] = p }
    firstPodOnNode[node.index] = p
    assert(
      pods.boundNode(pod) == node && nodes.podCount[node.index] >= 1, "bind left the pod unplaced")
    assert(firstPodOnNode[node.index] == Int32(pod.index), "the node's pod list starts elsewhere")
    record(.assignedPodAdded, .assignedPodAdded(pod))
  }

  /// Removes a bound pod from its node.
  public func unbind(_ pod: PodID) {
    guard let node = pods.boundNode(pod) else {
      preconditionFailure("\(pods.name(pod)) is not bound")
    }
    adjust(node, by: pod, sign: -1)
    let mask = pods.gpuAssignment[pod.index]
    if mask != 0 {
      nodes.adjustGPUs(node.index, mask: mask, milli: -pods.gpuMilli[pod.index])
      pods.setGPUAssignment(pod, 0)
    }
    pods.setNode(pod, PodTable.unbound)
    let prio = pods.priority[pod.index]
    countBound(priority: prio, by: -1)
    let next = nextPodOnNode[pod.index]
    let previous = previousPodOnNode[pod.index]
    if previous >= 0 {
      nextPodOnNode[Int(previous)] = next
    } else {
      firstPodOnNode[node.index] = next
    }
    if next >= 0 { previousPodOnNode[Int(next)] = previous }
    nextPodOnNode[pod.index] = -1
    previousPodOnNode[pod.index] = -1
    assert(!pods.isBound(pod) && pods.gpuAssignment[pod.index] == 0, "unbind left the pod placed")
    record(.assignedPodDeleted, .assignedPodDeleted(pod))
  }

  /// Changes a pod's CPU and memory requests in place (an in-place resize): a bound pod's node
  /// sums follow. A decrease of a bound pod is recorded as `assignedPodScaledDown`.
  /// - Parameters: the pod's new requests (`PodRequests.effective`) and non-zero requests.
  public func resizePod(
    _ pod: PodID, requestCPU: Int64, requestMemory: Int64, nonZeroCPU: Int64, nonZeroMemory: Int64
  ) {
    let p = pod.index
    let old = (cpu: pods.requestCPU[p], memory: pods.requestMemory[p])
    let oldNonZero = (cpu: pods.nonZeroCPU[p], memory: pods.nonZeroMemory[p])
    pods.requestCPU[p] = requestCPU
    pods.requestMemory[p] = requestMemory
    pods.nonZeroCPU[p] = nonZeroCPU
    pods.nonZeroMemory[p] = nonZeroMemory
    guard let node = pods.boundNode(pod) else { return }
    let n = node.index
    nodes.noteChange(n)
    nodes.requestedCPU[n] += requestCPU - old.cpu
    nodes.requestedMemory[n] += requestMemory - old.memory
    nodes.nonZeroRequestedCPU[n] += nonZeroCPU - oldNonZero.cpu
    nodes.nonZeroRequestedMemory[n] += nonZeroMemory - oldNonZero.memory
    nodes.mirrorRequests(n)
    assert(nodes.requestedCPU[n] >= 0 && nodes.requestedMemory[n] >= 0, "requested sums below zero")
    if requestCPU < old.cpu || requestMemory < old.memory {
      record(
        .assignedPodScaledDown, .assignedPodScaledDown(pod, oldCPU: old.cpu, oldMemory: old.memory))
    }
  }

  /// The id of the matcher for (namespace, selector), registering it — and counting the bound
  /// pods it matches on every node — the first time it is asked for.
  /// - Complexity: O(1) amortised; O(pods) the first time.
  public func matcher(namespace: UInt32, selector: LabelSelector) -> Int {
    matcher(PodMatcher(namespace: namespace, selector: selector))
  }

  /// The id of `m`, registering it and counting its bound pods per node the first time.
  /// - Complexity: O(1) amortised; the first time O(pods + label sets + cached label sets),
  ///   each label set matched once.
  public func matcher(_ m: PodMatcher) -> Int {
    let before = _matchers.count
    let id = Int(_matchers.intern(m))
    let isNew = _matchers.count > before
    guard isNew || matcherRetired[id] else { return id }
    // The cached (label set, namespace) entries learn the matcher's verdict (ids stay in
    // increasing order: a new id is the largest, a revived one goes in its place).
    for key in Array(matchedCache.keys)
    where matches(
      m, labels: UInt32(truncatingIfNeeded: key >> 32), namespace: UInt32(truncatingIfNeeded: key))
    {
      let at =
        isNew
        ? matchedCache[key]!.count
        : matchedCache[key]!.firstIndex { $0 > id } ?? matchedCache[key]!.count
      matchedCache[key]!.insert(UInt32(id), at: at)
    }
    lastMatched = nil
    let counts = Column<Int32>(repeating: 0, count: nodes.count)
    var total: Int64 = 0
    // Pods share label sets (a workload's replicas one): each label set is matched once for
    // the namespace it is first seen in (others, rarer, each time).
    var verdict = [Int8](repeating: -1, count: pods.labelSets.count)
    var verdictNamespace = [UInt32](repeating: 0, count: pods.labelSets.count)
    for p in 0..<pods.count where pods.node[p] != PodTable.unbound {
      let l = Int(pods.labels[p])
      let ns = pods.namespace[p]
      let matched: Bool
      if verdict[l] >= 0 && verdictNamespace[l] == ns {
        matched = verdict[l] == 1
      } else {
        matched = matches(m, labels: UInt32(l), namespace: ns)
        if verdict[l] < 0 {
          verdict[l] = matched ? 1 : 0
          verdictNamespace[l] = ns
        }
      }
      if matched {
        counts[Int(pods.node[p])] += 1
        total += 1
      }
    }
    if isNew {
      _matcherCounts.append(counts)
      _matcherTotals.append(total)
      countersOfMatcher.append([])
      matcherRetired.append(false)
    } else {
      _matcherCounts[id] = counts
      _matcherTotals[id] = total
      matcherRetired[id] = false
    }
    return id
  }

  /// Matchers not freed.
  public var liveMatcherCount: Int { matcherRetired.count { !$0 } }

  /// Frees what every matcher that no bound pod matches keeps — its per-node counts and its
  /// per-domain counters, O(nodes + domains) each — and bumps `matcherEpoch` when it freed any.
  /// A long simulation registers a matcher per ReplicaSet (system-default spreading selects on
  /// `pod-template-hash`) and would otherwise keep them all. A freed matcher asked for again is
  /// counted afresh, so decisions never change.
  /// - Precondition: no scheduling cycle is under way (plugins hold counters within a cycle).
  /// - Returns: the matchers freed.
  @discardableResult
  public func collectIdleMatchers() -> Int {
    var freed = 0
    for m in 0..<_matchers.count where !matcherRetired[m] && _matcherTotals[m] == 0 {
      matcherRetired[m] = true
      _matcherCounts[m] = Column(repeating: 0, count: 0)
      freed += 1
    }
    guard freed > 0 else { return 0 }
    for key in Array(matchedCache.keys) {
      matchedCache[key]!.removeAll { matcherRetired[Int($0)] }
    }
    lastMatched = nil
    _domainCounters.removeAll {
      if case .matcher(let m, _) = $0.source { return matcherRetired[m] }
      return false
    }
    domainCounterIndex.removeAll(keepingCapacity: true)
    countersOfMatcher = Array(repeating: [], count: _matchers.count)
    countersOfHeld = Array(repeating: [], count: _heldTerms.count)
    for (i, c) in _domainCounters.enumerated() {
      domainCounterIndex[c.source] = i
      switch c.source {
      case .matcher(let m, _): countersOfMatcher[m].append(i)
      case .held(let h, _): countersOfHeld[h].append(i)
      }
    }
    _matcherEpoch &+= 1
    return freed
  }

  /// Whether pods with this label set in this namespace satisfy `m`.
  private func matches(_ m: PodMatcher, labels: UInt32, namespace ns: UInt32) -> Bool {
    m.matches(
      namespace: ns, namespaceLabels: { namespaceLabels(ns) }, labels: pods.labelSets[labels])
  }

  /// Whether `pod` satisfies every clause of `m` (cold: dictionary lookups).
  public func matches(_ m: PodMatcher, _ pod: PodID) -> Bool {
    let ns = pods.namespace[pod.index]
    return m.matches(
      namespace: ns, namespaceLabels: { namespaceLabels(ns) },
      labels: pods.labelSets[pods.labels[pod.index]])
  }

  /// Whether a clause holds for `pod`.
  public func matches(_ c: AffinityClause, _ pod: PodID) -> Bool {
    let ns = pods.namespace[pod.index]
    return c.matches(
      namespace: ns, namespaceLabels: { namespaceLabels(ns) },
      labels: pods.labelSets[pods.labels[pod.index]])
  }

  // MARK: Namespaces and affinity terms

  /// Declares a Namespace object's labels. Every namespace also carries
  /// `kubernetes.io/metadata.name`, as the API server sets it. Matchers are recounted, since
  /// namespace selectors may now select differently.
  public func declareNamespace(_ name: String, labels: [String: String]) {
    declaredNamespaces[name] = labels
    _ = pods.internNamespace(name)
    matchedCache.removeAll()
    lastMatched = nil
    for (m, matcher) in _matchers.values.enumerated() where !matcherRetired[m] {
      let counts = _matcherCounts[m]
      for i in 0..<nodes.count { counts[i] = 0 }
      _matcherTotals[m] = 0
      for p in 0..<pods.count
      where pods.node[p] != PodTable.unbound && matches(matcher, PodID(UInt32(p))) {
        counts[Int(pods.node[p])] += 1
        _matcherTotals[m] += 1
      }
    }
    for c in _domainCounters { refill(c) }
  }

  /// Whether some bound pod has a priority below `priority` (a preemptor has possible victims).
  /// - Complexity: O(distinct priorities).
  public func hasBoundPod(below priority: Int32) -> Bool {
    boundByPriority.first.map { $0.priority < priority } ?? false
  }

  private func countBound(priority: Int32, by delta: Int) {
    var i = 0
    while i < boundByPriority.count && boundByPriority[i].priority < priority { i += 1 }
    if i < boundByPriority.count && boundByPriority[i].priority == priority {
      boundByPriority[i].count += delta
      if boundByPriority[i].count == 0 { boundByPriority.remove(at: i) }
    } else {
      precondition(delta > 0, "unbinding a priority with no bound pod")
      boundByPriority.insert((priority, delta), at: i)
    }
  }

  /// The first pod on `node` in its list and the one after `pod`, for walks that allocate nothing.
  public func firstPod(on node: NodeID) -> PodID? {
    let p = firstPodOnNode[node.index]
    return p >= 0 ? PodID(UInt32(p)) : nil
  }
  /// The pod lists and the columns preemption's dry runs read, through base pointers: valid
  /// until the next pod or node is added (a column may then move). A dry run by arithmetic
  /// walks the lists of hundreds of nodes, and each column read through its object costs a
  /// retain and a release.
  public var preemptionView: PreemptionView {
    // SAFETY: base pointers of columns the cluster owns; the view's users hold the cluster and
    // add nothing while they read (`PreemptionView`).
    PreemptionView(
      first: UnsafePointer(firstPodOnNode.base), next: UnsafePointer(nextPodOnNode.base),
      priority: UnsafePointer(pods.priority.base),
      deletionDue: UnsafePointer(pods.deletionDueAt.base),
      deleted: UnsafePointer(pods.deletedAt.base))
  }

  public func pod(after pod: PodID) -> PodID? {
    let p = nextPodOnNode[pod.index]
    return p >= 0 ? PodID(UInt32(p)) : nil
  }

  /// The pods bound to `node`, most recently bound first.
  /// - Complexity: O(pods on the node).
  public func podsOn(_ node: NodeID) -> [PodID] {
    var out: [PodID] = []
    var p = firstPodOnNode[node.index]
    while p >= 0 {
      out.append(PodID(UInt32(p)))
      p = nextPodOnNode[Int(p)]
    }
    return out
  }

  // MARK: Disruption budgets

  public func addDisruptionBudget(_ b: PodDisruptionBudgetSpec) { disruptionBudgets.append(b) }

  /// Whether budget `b` covers `pod`: same namespace and a non-empty selector that matches.
  public func budget(_ b: Int, covers pod: PodID) -> Bool {
    let budget = disruptionBudgets[b]
    guard let sel = budget.selector, !(sel.matchLabels.isEmpty && sel.matchExpressions.isEmpty)
    else { return false }
    return pods.namespaces[pods.namespace[pod.index]] == budget.namespace
      && sel.matches(pods.labelSets[pods.labels[pod.index]])
  }

  /// `status.disruptionsAllowed` as the disruption controller would publish it now: the pods
  /// the budget covers are expected, the bound ones not in `terminating` are healthy.
  /// - Complexity: O(pods).
  public func disruptionsAllowed(_ b: Int, terminating: (PodID) -> Bool = { _ in false }) -> Int {
    var expected = 0
    var healthy = 0
    for p in 0..<pods.count {
      let id = PodID(UInt32(p))
      guard budget(b, covers: id) else { continue }
      expected += 1
      if pods.node[p] != PodTable.unbound && !terminating(id) { healthy += 1 }
    }
    return disruptionBudgets[b].disruptionsAllowed(expected: expected, healthy: healthy)
  }

  // MARK: Domain counters

  /// The per-domain counter of a matcher's pods (or a held term's holders) over label `key`,
  /// registering it — O(nodes) — the first time.
  public func domainCounter(_ source: DomainCounter.Source, key: Int) -> DomainCounter {
    if let i = domainCounterIndex[source] { return _domainCounters[i] }
    if case .matcher(let m, _) = source {
      precondition(!matcherRetired[m], "a domain counter of freed matcher \(m) (a stale id)")
    }
    let c = DomainCounter(
      source: source, key: key, counts: Column(repeating: 0, count: _labels.domains[key].count),
      total: 0)
    refill(c)
    domainCounterIndex[source] = _domainCounters.count
    switch source {
    case .matcher(let m, _): countersOfMatcher[m].append(_domainCounters.count)
    case .held(let h, _): countersOfHeld[h].append(_domainCounters.count)
    }
    _domainCounters.append(c)
    return c
  }

  private func refill(_ c: DomainCounter) {
    let perNode: Column<Int32>
    switch c.source {
    case .matcher(let m, _): perNode = _matcherCounts[m]
    case .held(let h, _): perNode = _heldCounts[h]
    }
    for v in 0..<c.counts.count { c.counts[v] = 0 }
    c._total = 0
    let col = nodes.labelValues[c.key]
    for i in 0..<nodes.count where col[i] != 0 {
      c.counts[Int(col[i])] += Int64(perNode[i])
      c._total += Int64(perNode[i])
    }
  }

  @inline(__always)
  private func bump(_ counters: [Int], node n: Int, by sign: Int64) {
    for k in counters {
      let c = _domainCounters[k]
      let v = Int(nodes.labelValues[c.key][n])
      if v != 0 {
        c.counts[v] += sign
        c._total += sign
      }
    }
  }

  /// A namespace's labels: the declared ones plus `kubernetes.io/metadata.name`.
  public func namespaceLabels(_ id: UInt32) -> [String: String] {
    let name = pods.namespaces[id]
    var l = declaredNamespaces[name] ?? [:]
    l["kubernetes.io/metadata.name"] = name
    return l
  }

  /// A term's clause resolved for a pod in `ownerNamespace`: with neither `namespaces` nor a
  /// `namespaceSelector`, the term covers the owner's namespace only.
  public func clause(for term: PodAffinityTerm, ownerNamespace: UInt32) -> AffinityClause {
    let namespaces =
      term.namespaces.isEmpty && term.namespaceSelector == nil
      ? [ownerNamespace] : term.namespaces.map(pods.internNamespace)
    return AffinityClause(
      namespaces: namespaces, namespaceSelector: term.namespaceSelector,
      selector: term.labelSelector)
  }

  /// A pod's affinity terms resolved for its namespace, one per term in spec order (required
  /// affinity, required anti-affinity, preferred affinity, preferred anti-affinity).
  private func heldTerms(of c: PodConstraints, namespace ns: UInt32) -> [HeldAffinityTerm] {
    func held(_ kind: HeldAffinityTerm.Kind, _ t: PodAffinityTerm, _ weight: Int32)
      -> HeldAffinityTerm
    {
      HeldAffinityTerm(
        kind: kind, clause: clause(for: t, ownerNamespace: ns), topologyKey: t.topologyKey,
        weight: weight)
    }
    return c.podAffinity.required.map { held(.requiredAffinity, $0, 0) }
      + c.podAntiAffinity.required.map { held(.requiredAntiAffinity, $0, 0) }
      + c.podAffinity.preferred.map { held(.preferredAffinity, $0.term, $0.weight) }
      + c.podAntiAffinity.preferred.map { held(.preferredAntiAffinity, $0.term, $0.weight) }
  }

  /// The held-term ids of the pod's own affinity terms, one entry per term in spec order
  /// (required affinity, required anti-affinity, preferred affinity, preferred anti-affinity).
  public func heldTermIDs(of pod: PodID) -> [UInt32] {
    let cid = pods.constraints[pod.index]
    let ns = pods.namespace[pod.index]
    let key = UInt64(cid) << 32 | UInt64(ns)
    if let ids = heldCache[key] { return ids }
    let terms = heldTerms(of: pods.constraintSets[cid], namespace: ns)
    let ids = terms.map { t -> UInt32 in
      let before = _heldTerms.count
      let id = _heldTerms.intern(t)
      if _heldTerms.count > before {
        _heldCounts.append(Column(repeating: 0, count: nodes.count))
        _heldTotals.append(0)
        countersOfHeld.append([])
      }
      return id
    }
    heldCache[key] = ids
    return ids
  }

  /// Matcher ids matching pods with this label set in this namespace.
  private func matchedMatchers(_ pod: PodID) -> [UInt32] {
    let key = UInt64(pods.labels[pod.index]) << 32 | UInt64(pods.namespace[pod.index])
    if let last = lastMatched, last.key == key { return last.ids }
    if let ids = matchedCache[key] {
      lastMatched = (key, ids)
      return ids
    }
    var ids: [UInt32] = []
    for (m, matcher) in _matchers.values.enumerated()
    where !matcherRetired[m] && matches(matcher, pod) {
      ids.append(UInt32(m))
    }
    matchedCache[key] = ids
    lastMatched = (key, ids)
    return ids
  }

  private func adjust(_ node: NodeID, by pod: PodID, sign: Int64) {
    let n = node.index
    let p = pod.index
    nodes.noteChange(n)
    for m in matchedMatchers(pod) {
      _matcherCounts[Int(m)][n] += Int32(sign)
      _matcherTotals[Int(m)] += sign
      bump(countersOfMatcher[Int(m)], node: n, by: sign)
    }
    if pods.constraintBox(pods.constraints[p]).value.hasPodAffinity {
      for h in heldTermIDs(of: pod) {
        _heldCounts[Int(h)][n] += Int32(sign)
        _heldTotals[Int(h)] += Int(sign)
        bump(countersOfHeld[Int(h)], node: n, by: sign)
      }
    }
    assert(sign == 1 || sign == -1, "a pod is added or removed once")
    nodes.requestedCPU[n] += sign * pods.requestCPU[p]
    nodes.requestedMemory[n] += sign * pods.requestMemory[p]
    nodes.requestedEphemeral[n] += sign * pods.requestEphemeral[p]
    nodes.podCount[n] += sign
    nodes.nonZeroRequestedCPU[n] += sign * pods.nonZeroCPU[p]
    nodes.nonZeroRequestedMemory[n] += sign * pods.nonZeroMemory[p]
    nodes.mirrorRequests(n)
    // Sums over bound pods never go below zero (a removal undoes an earlier addition).
    assert(nodes.requestedCPU[n] >= 0 && nodes.requestedMemory[n] >= 0, "requested sums below zero")
    assert(nodes.podCount[n] >= 0 && nodes.nonZeroRequestedCPU[n] >= 0, "pod count below zero")
    for r in pods.scalarRequests(of: pod) {
      nodes.scalarRequested[r.resource.index][n] += sign * r.amount
    }
    let ports = pods.constraintBox(pods.constraints[pod.index]).value.hostPorts
    if !ports.isEmpty { nodes.recordHostPorts(ports, on: node, adding: sign > 0) }
  }

  /// Every violated invariant; empty when the cluster is consistent.
  ///
  /// Checks: equal column lengths; each node's requested sums, non-zero sums, scalar sums and pod
  /// count equal the sums over its bound pods, and the scorers' doubles (and their counts of
  /// nodes without CPU or memory) equal the integers; every bound pod names an existing node; no
  /// node is over its allocatable CPU, memory, ephemeral storage, pod count or scalar resources.
  /// - Complexity: O(nodes + pods).
  public func invariantViolations() -> [InvariantViolation] {
    var problems: [InvariantViolation] = []
    if !nodes.columnLengthsAreEqual() {
      problems.append(.init(.columnLengths, "", "node columns differ in length"))
    }
    if !pods.columnLengthsAreEqual() {
      problems.append(.init(.columnLengths, "", "pod columns differ in length"))
    }
    if nodes.recountNodesWithoutAllocatable() != nodes.nodesWithoutAllocatable {
      problems.append(
        .init(
          .requestedSum(resource: "cpu and memory doubles"), "",
          "the doubles' counts of nodes without cpu or memory differ from the node rows"))
    }
    let n = nodes.count
    if tree.count + retiredNodeRows.count + freeNodeRows.count != n
      || Set(retiredNodeRows + freeNodeRows).count != retiredNodeRows.count + freeNodeRows.count
      || (retiredNodeRows + freeNodeRows).contains(where: { tree.contains(row: $0) })
    {
      problems.append(
        .init(
          .nodeTree, "",
          "\(n) node rows are not \(tree.count) nodes, \(retiredNodeRows.count) removed and \(freeNodeRows.count) free"
        ))
    }
    for k in 0..<_labels.keyCount {
      var carrying = [Int](repeating: 0, count: _labels.domains[k].count)
      for i in 0..<n where tree.contains(row: i) { carrying[Int(nodes.labelValues[k][i])] += 1 }
      for v in 1..<carrying.count where carrying[v] != nodesCarrying(key: k, value: v) {
        problems.append(
          .init(
            .nodeTree, "",
            "\(nodesCarrying(key: k, value: v)) nodes counted with \(_labels.domains[k].key)=\(_labels.domains[k].values[v]), \(carrying[v]) carry it"
          ))
      }
    }
    if let w = walkCache, w != NodeWalk(order: tree.list(), rowCount: n) {
      problems.append(.init(.nodeTree, "", "the node walk is not the node tree's list"))
    }
    if let w = rowOrderWalkCache,
      w != NodeWalk(order: tree.list().sorted(), rowCount: n)
    {
      problems.append(.init(.nodeTree, "", "the row-order walk is not the node tree's rows"))
    }
    var cpu = [Int64](repeating: 0, count: n)
    var mem = cpu
    var eph = cpu
    var count = cpu
    var nzCPU = cpu
    var nzMem = cpu
    var scalar = [[Int64]](repeating: [Int64](repeating: 0, count: n), count: _scalars.count)
    var gpuUsed = [Int](repeating: 0, count: n * NodeGPUs.maxPerNode)
    var matched = [[Int32]](repeating: [Int32](repeating: 0, count: n), count: _matchers.count)
    var held = [[Int32]](repeating: [Int32](repeating: 0, count: n), count: _heldTerms.count)
    for p in 0..<pods.count {
      let raw = pods.node[p]
      if raw == PodTable.unbound { continue }
      guard Int(raw) < n, tree.contains(row: Int(raw)) else {
        problems.append(
          .init(
            .boundToMissingNode, pods.name(PodID(UInt32(p))), "is bound to missing node row \(raw)")
        )
        continue
      }
      let i = Int(raw)
      cpu[i] += pods.requestCPU[p]
      mem[i] += pods.requestMemory[p]
      eph[i] += pods.requestEphemeral[p]
      count[i] += 1
      nzCPU[i] += pods.nonZeroCPU[p]
      nzMem[i] += pods.nonZeroMemory[p]
      for r in pods.scalarRequests(of: PodID(UInt32(p))) { scalar[r.resource.index][i] += r.amount }
      for (m, matcher) in _matchers.values.enumerated()
      where !matcherRetired[m] && matches(matcher, PodID(UInt32(p))) {
        matched[m][i] += 1
      }
      if pods.constraintBox(pods.constraints[p]).value.hasPodAffinity {
        // Resolved afresh, not from the cache the incremental path uses.
        for t in heldTerms(
          of: pods.constraintSets[pods.constraints[p]], namespace: pods.namespace[p])
        {
          if let h = _heldTerms.id(of: t) {
            held[Int(h)][i] += 1
          } else {
            problems.append(
              .init(
                .affinityTermCount, pods.name(PodID(UInt32(p))),
                "holds an unregistered affinity term"))
          }
        }
      }
      let mask = pods.gpuAssignment[p]
      if mask.nonzeroBitCount != Int(pods.gpuCount[p]) {
        problems.append(
          .init(
            .gpuDevices, pods.name(PodID(UInt32(p))),
            "holds \(mask.nonzeroBitCount) GPUs, wants \(pods.gpuCount[p])"))
      }
      for slot in 0..<NodeGPUs.maxPerNode where mask & (1 << UInt8(slot)) != 0 {
        gpuUsed[i * NodeGPUs.maxPerNode + slot] += Int(pods.gpuMilli[p])
      }
    }
    for i in 0..<n {
      let name = nodes.names[i]
      if nodes.requestedCPU[i] != cpu[i] {
        problems.append(
          .init(
            .requestedSum(resource: "cpu"), name,
            "requested cpu \(nodes.requestedCPU[i]) != \(cpu[i])"))
      }
      if nodes.requestedMemory[i] != mem[i] {
        problems.append(
          .init(.requestedSum(resource: "memory"), name, "requested memory differs from bound pods")
        )
      }
      if nodes.requestedEphemeral[i] != eph[i] {
        problems.append(
          .init(
            .requestedSum(resource: "ephemeral-storage"), name,
            "requested ephemeral-storage differs"))
      }
      if nodes.podCount[i] != count[i] {
        problems.append(
          .init(
            .requestedSum(resource: "pods"), name, "pod count \(nodes.podCount[i]) != \(count[i])"))
      }
      if !nodes.mirrorsMatch(i) {
        problems.append(
          .init(
            .requestedSum(resource: "cpu and memory doubles"), name,
            "the scorers' doubles differ from the integer columns"))
      }
      if nodes.nonZeroRequestedCPU[i] != nzCPU[i] || nodes.nonZeroRequestedMemory[i] != nzMem[i] {
        problems.append(
          .init(
            .requestedSum(resource: "non-zero cpu and memory"), name,
            "non-zero requested sums differ from bound pods"))
      }
      if cpu[i] > nodes.allocatableCPU[i] {
        problems.append(.init(.overAllocatable(resource: "cpu"), name, "cpu over allocatable"))
      }
      if mem[i] > nodes.allocatableMemory[i] {
        problems.append(
          .init(.overAllocatable(resource: "memory"), name, "memory over allocatable"))
      }
      if eph[i] > nodes.allocatableEphemeral[i] && eph[i] > 0 {
        problems.append(
          .init(
            .overAllocatable(resource: "ephemeral-storage"), name,
            "ephemeral-storage over allocatable"))
      }
      if count[i] > nodes.allocatablePods[i] {
        problems.append(
          .init(.overAllocatable(resource: "pods"), name, "more pods than allocatable"))
      }
      for h in 0..<_heldTerms.count where _heldCounts[h][i] != held[h][i] {
        problems.append(
          .init(
            .affinityTermCount, name,
            "affinity term \(h) held by \(_heldCounts[h][i]) pods, recount \(held[h][i])"))
      }
      for m in 0..<_matchers.count where !matcherRetired[m] && _matcherCounts[m][i] != matched[m][i]
      {
        problems.append(
          .init(
            .matcherCount, name,
            "matcher \(m) counts \(_matcherCounts[m][i]) pods, recount \(matched[m][i])"))
      }
      var free = 0
      for slot in 0..<NodeGPUs.maxPerNode {
        let capacity = slot < Int(nodes.gpuCount[i]) ? Int(NodeGPUs.milliPerGPU) : 0
        let left = Int(nodes.gpuMilliLeft[i * NodeGPUs.maxPerNode + slot])
        if left != capacity - gpuUsed[i * NodeGPUs.maxPerNode + slot] {
          problems.append(
            .init(.gpuDevices, name, "GPU \(slot) milli left differs from bound pods"))
        }
        if left < 0 {
          problems.append(
            .init(.overAllocatable(resource: "gpu"), name, "GPU \(slot) over-committed"))
        }
        free += left
      }
      if free != Int(nodes.gpuMilliFree[i]) {
        problems.append(.init(.gpuDevices, name, "GPU milli free differs from its devices"))
      }
      for r in 0..<_scalars.count {
        if nodes.scalarRequested[r][i] != scalar[r][i] {
          problems.append(
            .init(
              .requestedSum(resource: _scalars.names[r]), name, "\(_scalars.names[r]) sum differs"))
        }
        if scalar[r][i] > nodes.scalarAllocatable[r][i] {
          problems.append(
            .init(
              .overAllocatable(resource: _scalars.names[r]), name,
              "\(_scalars.names[r]) over allocatable"))
        }
      }
    }
    for i in 0..<n {
      let listed = podsOn(NodeID(UInt32(i)))
      if listed.count != Int(count[i])
        || listed.contains(where: { pods.node[$0.index] != UInt32(i) })
      {
        problems.append(
          .init(.podList, nodes.names[i], "pod list differs from the pods bound to it"))
      }
    }
    for i in 0..<n {
      guard tree.contains(row: i) else {
        // A removed node's row is empty: no capacity, labels, taints or GPUs.
        if nodes.exists[i] != 0 || nodes.allocatablePods[i] != 0 || nodes.allocatableCPU[i] != 0
          || nodes.unschedulable[i] != 0 || nodes.gpuCount[i] != 0
          || (0..<_labels.keyCount).contains(where: { nodes.labelValues[$0][i] != 0 })
          || (0..<nodes.taintWords).contains(where: {
            nodes.taintBits[i * nodes.taintWords + $0] != 0
          }) || nodes.taintByte[i] != 0
        {
          problems.append(
            .init(.specColumns, nodes.names[i], "the row of a removed node is not empty"))
        }
        continue
      }
      // The columns say what the node's spec says (node updates rewrite both).
      let spec = nodes.specs[i]
      if nodes.exists[i] != 1 || nodes.id(named: spec.name) != NodeID(UInt32(i)) {
        problems.append(
          .init(.specColumns, spec.name, "a node not marked existing or not indexed by name"))
      }
      for k in 0..<_labels.keyCount {
        let v = nodes.labelValues[k][i]
        let value: String? = v == 0 ? nil : _labels.domains[k].values[Int(v)]
        if value != spec.labels[_labels.domains[k].key] {
          problems.append(
            .init(
              .specColumns, spec.name,
              "label column \(_labels.domains[k].key) differs from its spec"))
        }
      }
      var bits = [UInt64](repeating: 0, count: nodes.taintWords)
      for t in spec.taints {
        if let id = _taints.id(of: t) { bits[id >> 6] |= 1 << UInt64(id & 63) }
      }
      if (0..<nodes.taintWords).contains(where: {
        nodes.taintBits[i * nodes.taintWords + $0] != bits[$0]
      }) || nodes.taintByte[i] != UInt8(truncatingIfNeeded: bits[0]) {
        problems.append(.init(.specColumns, spec.name, "taint bits differ from its spec"))
      }
      if (nodes.unschedulable[i] != 0) != spec.unschedulable
        || nodes.allocatableCPU[i] != spec.allocatable.cpuMillis
        || nodes.allocatableMemory[i] != spec.allocatable.memoryBytes
        || nodes.allocatablePods[i] != spec.allocatable.pods
      {
        problems.append(
          .init(.specColumns, spec.name, "cordon or allocatable columns differ from its spec"))
      }
    }
    for c in _domainCounters {
      let perNode: [Int32]
      switch c.source {
      case .matcher(let m, _): perNode = matched[m]
      case .held(let h, _): perNode = held[h]
      }
      var expected = [Int64](repeating: 0, count: _labels.domains[c.key].count)
      let col = nodes.labelValues[c.key]
      for i in 0..<n where col[i] != 0 { expected[Int(col[i])] += Int64(perNode[i]) }
      if c.counts.count != expected.count
        || (0..<expected.count).contains(where: { c.counts[$0] != expected[$0] })
        || c._total != expected.reduce(0, +)
      {
        problems.append(
          .init(
            .domainCounter, "",
            "domain counter \(c.source) over \(_labels.domains[c.key].key) differs from a recount"))
      }
    }
    for m in 0..<_matchers.count
    where !matcherRetired[m] && _matcherTotals[m] != matched[m].reduce(0, { $0 + Int64($1) }) {
      problems.append(
        .init(
          .matcherCount, "",
          "matcher \(m): total \(_matcherTotals[m]) differs from its per-node counts"))
    }
    for h in 0..<_heldTerms.count where _heldTotals[h] != held[h].reduce(0, { $0 + Int($1) }) {
      problems.append(
        .init(
          .affinityTermCount, "",
          "affinity term \(h): total \(_heldTotals[h]) differs from its per-node counts"))
    }
    return problems
  }

  /// - Precondition: the cluster is consistent (see `invariantViolations()`).
  public func checkInvariants() {
    let problems = invariantViolations()
    precondition(problems.isEmpty, problems.map(\.description).joined(separator: "; "))
  }
}

/// Bound pods per domain of one label key, for one matcher or one held affinity term. Index 0
/// (nodes without the key) stays 0; `total` sums the keyed domains.
public final class DomainCounter {
  public enum Source: Hashable, Sendable {
    /// A matcher's matching pods; the key name makes the source unique per key.
    case matcher(Int, key: String)
    /// A held term's holders.
    case held(Int, key: String)
  }
  public let source: Source
  public let key: Int
  public let counts: Column<Int64>
  @usableFromInline @exclusivity(unchecked) var _total: Int64
  @inlinable public var total: Int64 { _total }

  init(source: Source, key: Int, counts: Column<Int64>, total: Int64) {
    self.source = source
    self.key = key
    self.counts = counts
    self._total = total
  }
}

/// One broken invariant of a `Cluster` (see `invariantViolations()`): what kind, on which node or
/// pod (empty for cluster-wide counters), and the detail.
public struct InvariantViolation: Hashable, Sendable, CustomStringConvertible {
  public enum Kind: Hashable, Sendable {
    /// Columns of one table differ in length.
    case columnLengths
    /// A bound pod names a node row that does not exist.
    case boundToMissingNode
    /// The node tree, its walk or the per-label-value node counts disagree with the node rows.
    case nodeTree
    /// A node's maintained sum of a resource (or its pod count) differs from its bound pods'.
    case requestedSum(resource: String)
    /// A node's bound pods ask for more of a resource than it has (`pods` for the count, `gpu`
    /// for a device's milli).
    case overAllocatable(resource: String)
    /// GPU devices held or left differ from the pods' assignments.
    case gpuDevices
    /// Counts of pods holding an affinity term differ from a recount.
    case affinityTermCount
    /// Counts of pods a selector matches differ from a recount.
    case matcherCount
    /// Per-domain counters differ from a recount.
    case domainCounter
    /// A node's list of pods differs from the pods bound to it.
    case podList
    /// A node's label, taint, cordon or allocatable columns differ from its spec.
    case specColumns
  }

  public var kind: Kind
  /// The node or pod concerned; empty for cluster-wide counters.
  public var subject: String
  public var detail: String

  public init(_ kind: Kind, _ subject: String, _ detail: String) {
    self.kind = kind
    self.subject = subject
    self.detail = detail
  }

  public var description: String { subject.isEmpty ? detail : "\(subject): \(detail)" }

  /// Whether this is a node over its allocatable of a resource in one of `groups` (such as
  /// `example.com`: resources a profile's `ignoredResourceGroups` lets pods over-commit).
  public func isOverAllocatable(inResourceGroups groups: [String]) -> Bool {
    guard case .overAllocatable(let resource) = kind else { return false }
    return groups.contains { resource.hasPrefix($0 + "/") }
  }
}

/// `Cluster.preemptionView`: each node's pod list and the pods' priority and termination,
/// through base pointers valid until the cluster next adds a pod or a node.
public struct PreemptionView {
  let first: UnsafePointer<Int32>
  let next: UnsafePointer<Int32>
  let priority: UnsafePointer<Int32>
  let deletionDue: UnsafePointer<Int64>
  let deleted: UnsafePointer<Int64>

  /// Appends to `out` the pods bound to `node` with priority below `priority` that are not
  /// terminating, in the node's list order.
  public func collectPreemptible(on node: NodeID, below priority: Int32, into out: inout [PodID]) {
    // SAFETY: `node` is a node row and the lists hold pod rows; every column has a row per
    // node or pod row while the view is valid.
    var p = first[node.index]
    while p >= 0 {
      let i = Int(p)
      let terminating = PodTable.isTerminating(deletionDue: deletionDue[i], deleted: deleted[i])
      if self.priority[i] < priority && !terminating { out.append(PodID(UInt32(p))) }
      p = next[i]
    }
  }
}
