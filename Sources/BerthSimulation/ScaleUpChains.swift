import BerthCore

/// The load step → HPA decision → created → pending → node → Ready chain of the pods a node
/// autoscaler added capacity for, and whether the scheduler then put them on that capacity
/// (CA's and Karpenter's `summary.json` `chain` and `agreement`). The first two steps exist for
/// pods an HPA scale-up created.
struct ScaleUpChains {
  static let never = VirtualTime(nanoseconds: .max)

  struct Chain {
    var pod: UInt64
    /// When the HPA's metrics first asked for more replicas, and when it scaled (never: the
    /// pod was not created by an HPA scale-up).
    var loadStep = ScaleUpChains.never
    var decided = ScaleUpChains.never
    var created: VirtualTime
    var triggered: VirtualTime
    /// The scale-up (CA) or node claim batch (Karpenter) it belongs to.
    var origin: Int32
    var nodeReady = ScaleUpChains.never
    var scheduled = ScaleUpChains.never
    var ready = ScaleUpChains.never
    /// Where the scheduler put it: 0 not yet, 1 a node of its origin, 2 elsewhere, 3
    /// superseded by a later origin for the same pod.
    var placement: UInt8 = 0
    static let superseded: UInt8 = 3
  }
  private(set) var chains: [Chain] = []
  /// Per pod row: its chain (-1 none).
  private var chainOfRow: [Int32] = []
  private var awaitingReady: [Int] = []

  /// Capacity was asked for `pod` (its handle, row and creation) at `now` by `origin`; an
  /// earlier chain of the same pod is superseded. `decision`: the HPA scale-up that created it.
  mutating func triggered(
    _ pod: PodID, handle: UInt64, created: VirtualTime, now: VirtualTime, origin: Int32,
    decision: (loadStep: VirtualTime, decided: VirtualTime)?
  ) {
    while chainOfRow.count <= pod.index { chainOfRow.append(-1) }
    let earlier = Int(chainOfRow[pod.index])
    if earlier >= 0 && chains[earlier].pod == handle {
      chains[earlier].placement = Chain.superseded
    }
    chainOfRow[pod.index] = Int32(chains.count)
    var chain = Chain(pod: handle, created: created, triggered: now, origin: origin)
    if let decision { (chain.loadStep, chain.decided) = decision }
    chains.append(chain)
  }

  /// The pod was bound at `now` to a node made by `nodeOrigin` (-1: none) that was Ready at
  /// `nodeReady`.
  mutating func bound(
    _ pod: PodID, handle: UInt64, now: VirtualTime, nodeOrigin: Int32, nodeReady: VirtualTime
  ) {
    guard pod.index < chainOfRow.count else { return }
    let c = Int(chainOfRow[pod.index])
    guard c >= 0, chains[c].pod == handle, chains[c].scheduled == Self.never else { return }
    chains[c].scheduled = now
    if nodeOrigin >= 0 && nodeOrigin == chains[c].origin {
      chains[c].placement = 1
      chains[c].nodeReady = nodeReady
    } else {
      chains[c].placement = 2
    }
    awaitingReady.append(c)
  }

  /// Takes the first-Ready times of the scheduled pods not yet Ready (`readyAt` gives a pod's
  /// first Ready by handle, nil while it has none or is gone).
  mutating func collectReadiness(_ readyAt: (UInt64) -> VirtualTime??) {
    var kept = 0
    for c in awaitingReady {
      guard let answer = readyAt(chains[c].pod) else { continue }  // gone
      if let ready = answer {
        chains[c].ready = ready
      } else {
        awaitingReady[kept] = c
        kept += 1
      }
    }
    awaitingReady.removeLast(awaitingReady.count - kept)
  }

  private var counted: [Chain] { chains.filter { $0.placement != Chain.superseded } }

  /// The p90 of creation → Ready (0 without any).
  var createdToReadyP90: Double {
    let spans = counted.filter { $0.ready != Self.never }.map { ($0.ready - $0.created).seconds }
      .sorted()
    return spans.isEmpty ? 0 : spans[max(0, Int((0.9 * Double(spans.count)).rounded(.up)) - 1)]
  }

  /// `chain`: each step's percentiles over the pods that reached it.
  var json: String {
    let counted = self.counted
    func stats(_ name: String, _ values: [Double]) -> String {
      let v = values.sorted()
      func rank(_ q: Double) -> String {
        guard !v.isEmpty else { return "null" }
        let k = max(0, min(v.count - 1, Int((q * Double(v.count)).rounded(.up)) - 1))
        return String(format: "%.3f", v[k])
      }
      return
        "\"\(name)\": {\"pods\": \(v.count), \"p50\": \(rank(0.5)), \"p90\": \(rank(0.9)), \"p99\": \(rank(0.99)), \"max\": \(rank(1))}"
    }
    func span(_ a: VirtualTime, _ b: VirtualTime) -> Double? {
      a == Self.never || b == Self.never ? nil : (b - a).seconds
    }
    let onTheirs = counted.filter { $0.placement == 1 }
    let parts = [
      stats("loadStepToDecisionSeconds", counted.compactMap { span($0.loadStep, $0.decided) }),
      stats("decisionToCreatedSeconds", counted.compactMap { span($0.decided, $0.created) }),
      stats("createdToTriggeredSeconds", counted.compactMap { span($0.created, $0.triggered) }),
      stats(
        "triggeredToNodeReadySeconds", onTheirs.compactMap { span($0.triggered, $0.nodeReady) }),
      stats(
        "nodeReadyToScheduledSeconds", onTheirs.compactMap { span($0.nodeReady, $0.scheduled) }),
      stats("scheduledToReadySeconds", counted.compactMap { span($0.scheduled, $0.ready) }),
      stats("createdToReadySeconds", counted.compactMap { span($0.created, $0.ready) }),
      stats("loadStepToReadySeconds", counted.compactMap { span($0.loadStep, $0.ready) }),
    ]
    return "{" + parts.joined(separator: ", ") + "}"
  }

  /// `agreement`: of the pods capacity was added for, where the scheduler put them.
  var agreementJSON: String {
    let counted = self.counted
    return
      "{\"scaleUpPods\": \(counted.count), \"onTheirNewNodes\": \(counted.count { $0.placement == 1 }), \"placedElsewhere\": \(counted.count { $0.placement == 2 }), \"neverPlaced\": \(counted.count { $0.placement == 0 })}"
  }
}
