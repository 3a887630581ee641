/// When a container's startup and liveness probes decide, on the kubelet's probe grid: a probe
/// runs `initialDelaySeconds` after the container starts, then every `periodSeconds`; a probe
/// at or after the moment the application passes (startup) or fails (liveness) sees it so;
/// `failureThreshold` failures in a row kill the container. Times in nanoseconds.
public enum ProbeTimeline {
  public struct Probe: Sendable, Equatable {
    public var initialDelay: Int64
    public var period: Int64
    public var failureThreshold: Int64
    public init(initialDelay: Int64, period: Int64, failureThreshold: Int64) {
      self.initialDelay = initialDelay
      self.period = max(1, period)
      self.failureThreshold = max(1, failureThreshold)
    }
  }

  /// The first probe time at or after `t`.
  static func firstProbe(_ p: Probe, start: Int64, atOrAfter t: Int64) -> (index: Int64, at: Int64)
  {
    let first = start + p.initialDelay
    guard t > first else { return (0, first) }
    let k = (t - first + p.period - 1) / p.period
    return (k, first + k * p.period)
  }

  /// The startup probe: the container counts as started at the first probe at or after
  /// `passesFrom`, unless `failureThreshold` probes failed before it — then it is killed at the
  /// last of them.
  public static func startup(_ p: Probe, start: Int64, passesFrom: Int64) -> (
    started: Bool, at: Int64
  ) {
    let hit = firstProbe(p, start: start, atOrAfter: passesFrom)
    guard hit.index >= p.failureThreshold else { return (true, hit.at) }
    return (false, start + p.initialDelay + (p.failureThreshold - 1) * p.period)
  }

  /// The liveness probe, which runs once the container has started (`startedAt`, the startup
  /// probe's success or the start): the container is killed at the `failureThreshold`-th probe
  /// in a row that sees it failing (from `failsFrom` on).
  public static func livenessKill(_ p: Probe, start: Int64, startedAt: Int64, failsFrom: Int64)
    -> Int64
  {
    let hit = firstProbe(p, start: start, atOrAfter: max(failsFrom, startedAt))
    return hit.at + (p.failureThreshold - 1) * p.period
  }
}
