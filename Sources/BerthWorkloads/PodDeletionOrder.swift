import Foundation

/// Which pods a ReplicaSet deletes first when it scales down (`ActivePodsWithRanks.Less` in
/// `pkg/controller/controller_utils.go`, with LogarithmicScaleDown on, its default since 1.22).
public struct PodDeletionKey: Sendable, Equatable {
  public enum Phase: Int, Sendable {
    case pending = 0
    case unknown = 1
    case running = 2
  }

  public var assigned: Bool
  public var phase: Phase
  public var ready: Bool
  /// `controller.kubernetes.io/pod-deletion-cost`.
  public var deletionCost: Int32
  /// Pods of the same owner family on this pod's node (upstream's rank): more go first.
  public var colocated: Int
  /// When the pod last turned Ready (ns), nil when it never did.
  public var readySince: Int64?
  /// The highest restart count of its containers.
  public var restarts: Int32
  /// Creation time (ns).
  public var created: Int64
  public var uid: UInt64
  /// ⌊log₂⌋ of the ready and creation ages at a given now, once `prepared(now:)` computed them
  /// (a sort then takes no logarithm per comparison).
  var readyBucket: Int64?
  var createdBucket: Int64?

  public init(
    assigned: Bool, phase: Phase, ready: Bool, deletionCost: Int32 = 0, colocated: Int = 0,
    readySince: Int64?, restarts: Int32, created: Int64, uid: UInt64
  ) {
    self.assigned = assigned
    self.phase = phase
    self.ready = ready
    self.deletionCost = deletionCost
    self.colocated = colocated
    self.readySince = readySince
    self.restarts = restarts
    self.created = created
    self.uid = uid
  }

  /// The key with its log₂ age buckets at `now` computed once.
  public func prepared(now: Int64) -> Self {
    var k = self
    k.readyBucket = readySince.map { Self.bucket($0, now: now) }
    k.createdBucket = Self.bucket(created, now: now)
    return k
  }

  /// `int64(math.Log2(float64(d)))` of the age `d` in ns, or −1 when it is not positive.
  /// ⌊log₂ d⌋ is the leading bit's position; the floating-point logarithm differs from it only
  /// when `d` lies within a relative 2⁻⁴⁰ below the next power of two (where it can round up),
  /// and there it is asked.
  static func bucket(_ t: Int64, now: Int64) -> Int64 {
    let d = now &- t
    guard d > 0 else { return -1 }
    let r = 63 - d.leadingZeroBitCount
    let shift = max(0, r - 40)
    let top = d >> shift
    if top == (Int64(1) << (r - shift + 1)) - 1 { return Int64(log2(Double(d))) }
    return Int64(r)
  }

  /// Whether `a` is deleted before `b` at `now`: unassigned before assigned; Pending, then
  /// Unknown, then Running; not ready before ready; lower deletion cost first; more colocated
  /// first; of two ready pods the one ready for less time (on a log₂ scale of the time since,
  /// ties by UID); more restarts first; newer first (log₂ scale again, ties by UID).
  public static func deletedFirst(_ a: Self, _ b: Self, now: Int64) -> Bool {
    if a.assigned != b.assigned { return !a.assigned }
    if a.phase != b.phase { return a.phase.rawValue < b.phase.rawValue }
    if a.ready != b.ready { return !a.ready }
    if a.deletionCost != b.deletionCost { return a.deletionCost < b.deletionCost }
    if a.colocated != b.colocated { return a.colocated > b.colocated }
    if a.ready && b.ready, a.readySince != b.readySince {
      if let ra = a.readySince, let rb = b.readySince {
        let diff =
          a.readyBucket.flatMap { x in b.readyBucket.map { x - $0 } }
          ?? logarithmicRankDiff(ra, rb, now: now)
        return diff == 0 ? a.uid < b.uid : diff < 0
      }
      // A pod with no ready time counts as ready for the least time.
      return a.readySince == nil
    }
    if a.restarts != b.restarts { return a.restarts > b.restarts }
    if a.created != b.created {
      let diff =
        a.createdBucket.flatMap { x in b.createdBucket.map { x - $0 } }
        ?? logarithmicRankDiff(a.created, b.created, now: now)
      return diff == 0 ? a.uid < b.uid : diff < 0
    }
    return false
  }

  /// `logarithmicRankDiff`: the difference of ⌊log₂⌋ of the two ages in nanoseconds (−1 for an
  /// age that is not positive).
  public static func logarithmicRankDiff(_ t1: Int64, _ t2: Int64, now: Int64) -> Int64 {
    bucket(t1, now: now) - bucket(t2, now: now)
  }
}
