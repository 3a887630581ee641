/// The kubelet's restart back-off for one container (`flowcontrol.Backoff` as
/// `kuberuntime`'s `doBackOff` uses it): the first restart is immediate; after that each waits
/// 10 s, doubling to at most 5 min, counted from when the container last exited; a container
/// that ran for more than 10 min (twice the cap) since its last restart starts over.
public struct ContainerBackOff: Sendable, Equatable {
  public static let initial: Int64 = 10_000_000_000
  public static let maximum: Int64 = 300_000_000_000

  /// The current delay; 0 before the first restart.
  public private(set) var delay: Int64 = 0
  /// When the back-off last moved (the last restart).
  public private(set) var lastUpdate: Int64 = 0

  public init() {}

  /// The container exited at `finishedAt` (ns): when it is started again.
  public mutating func restartTime(finishedAt: Int64) -> Int64 {
    let fresh = delay == 0 || finishedAt - lastUpdate > 2 * Self.maximum
    let start = fresh ? finishedAt : finishedAt + delay
    delay = fresh ? Self.initial : min(delay * 2, Self.maximum)
    lastUpdate = start
    return start
  }
}

/// The Job controller's delay before it replaces a failed pod (`DefaultJobPodFailureBackOff`
/// 10 s, doubling per failure since the last success, to `MaxJobPodFailureBackOff` 10 min in
/// current releases; 6 min before them).
public enum JobBackOff {
  public static let initial: Int64 = 10_000_000_000
  public static let maximum: Int64 = 600_000_000_000

  /// The delay after `failures` consecutive failures (0 for none).
  public static func delay(failures: Int, maximum: Int64 = maximum) -> Int64 {
    guard failures > 0 else { return 0 }
    var d = initial
    for _ in 1..<failures {
      d *= 2
      if d >= maximum { return maximum }
    }
    return min(d, maximum)
  }
}

/// A Job's pod-failure back-off record (`backoffRecord` in `pkg/controller/job`): the failures
/// since the last success and when the latest of them ended.
public struct JobBackOffRecord: Sendable, Equatable {
  public var failuresAfterLastSuccess = 0
  /// Ns; nil when no failure counts.
  public var lastFailure: Int64?

  public init(failuresAfterLastSuccess: Int = 0, lastFailure: Int64? = nil) {
    self.failuresAfterLastSuccess = failuresAfterLastSuccess
    self.lastFailure = lastFailure
  }

  /// `newBackoffRecord`: pods that newly succeeded and failed, by the time each ended. Without
  /// successes the failures add up; with some, only failures that ended strictly after the last
  /// success count, and the record starts again from them.
  public mutating func add(succeeded: [Int64], failed: [Int64]) {
    guard let lastSuccess = succeeded.max() else {
      guard let latest = failed.max() else { return }
      failuresAfterLastSuccess += failed.count
      lastFailure = latest
      return
    }
    let after = failed.filter { $0 > lastSuccess }
    failuresAfterLastSuccess = after.count
    lastFailure = after.max()
  }

  /// When the next replacement may be created: the last failure plus the back-off delay.
  public func due(maximum: Int64 = JobBackOff.maximum) -> Int64? {
    guard failuresAfterLastSuccess > 0, let lastFailure else { return nil }
    return lastFailure + JobBackOff.delay(failures: failuresAfterLastSuccess, maximum: maximum)
  }
}
