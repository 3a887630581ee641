/// One VPA's recommender state: an aggregate per container name, fed by the samples of every
/// pod's containers (each with its own memory window), as the recommender's cluster model
/// holds it for the pods the VPA selects.
public struct VPAModel: Sendable {
  public var flags: VPARecommenderFlags
  /// Container names in the order first seen (recommendations come in this order).
  public private(set) var containers: [String] = []
  public private(set) var aggregates: [String: VPAAggregateState] = [:]
  /// Per pod (an opaque key) and container: its memory window and last samples.
  private var windows: [String: VPAContainerWindow] = [:]
  /// OOMs discarded as too old, for the record.
  public private(set) var discardedOOMs = 0

  public init(flags: VPARecommenderFlags = VPARecommenderFlags()) { self.flags = flags }

  private mutating func aggregate(_ container: String) -> VPAAggregateState {
    if let a = aggregates[container] { return a }
    containers.append(container)
    return VPAAggregateState(flags: flags)
  }

  /// A usage sample of one container of one pod (CPU cores, memory working set bytes).
  public mutating func addUsage(
    pod: String, container: String, at t: UnixMillis, cpuCores: Double?, memoryBytes: Double?
  ) {
    var a = aggregate(container)
    let key = pod + "\u{0}" + container
    var w = windows[key] ?? VPAContainerWindow()
    if let c = cpuCores { a.addCPU(c, at: t, window: &w) }
    if let m = memoryBytes { a.addMemory(m, at: t, window: &w, flags: flags) }
    windows[key] = w
    aggregates[container] = a
  }

  /// An OOM kill of one container of one pod, with its memory request then.
  public mutating func addOOM(
    pod: String, container: String, at t: UnixMillis, requestBytes: Double
  ) {
    var a = aggregate(container)
    let key = pod + "\u{0}" + container
    var w = windows[key] ?? VPAContainerWindow()
    if !a.recordOOM(at: t, requestBytes: requestBytes, window: &w, flags: flags) {
      discardedOOMs += 1
    }
    windows[key] = w
    aggregates[container] = a
  }

  /// The recommendation at `now`: per container with samples (and not expired — no sample for
  /// the memory aggregation window's whole length, 8 days), capped by the VPA's policies.
  public func recommendations(vpa: VPASpec?, at now: UnixMillis) -> [VPAContainerRecommendation] {
    let window = flags.memoryAggregationIntervalMillis * flags.memoryAggregationIntervalCount
    // Expired aggregates are collected first; the pod minimum is split over the rest.
    let live = containers.filter { c in
      guard let last = aggregates[c]?.lastSampleStart else { return true }
      return now.value - last.value < window
    }
    return live.compactMap { c in
      guard let a = aggregates[c], a.totalSamplesCount > 0 else { return nil }
      return VPARecommender.recommendation(
        container: c, state: a, containers: live.count, policy: vpa?.policy(for: c), flags: flags)
    }
  }
}
