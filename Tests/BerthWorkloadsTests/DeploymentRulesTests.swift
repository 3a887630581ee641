import BerthCore
import Foundation
import Testing

@testable import BerthWorkloads

/// The deployment controller's arithmetic against the cases of upstream's
/// `deployment_util_test.go` (facts transcribed, code not).
struct DeploymentRulesTests {
  static func amount(_ s: String?) -> IntOrPercent? { s.flatMap(DeploymentRules.intOrPercent) }

  /// (maxSurge, maxUnavailable, desired, surge, unavailable): `TestResolveFenceposts`.
  static let fenceposts: [(String?, String?, Int, Int, Int)] = [
    ("0", "0", 0, 0, 1),
    ("39%", "39%", 10, 4, 3),
    (nil, "39%", 10, 0, 3),
    ("39%", nil, 10, 4, 0),
    (nil, nil, 10, 0, 1),
  ]

  @Test("ResolveFenceposts: surge rounds up, unavailable down, never both 0", arguments: fenceposts)
  func resolveFenceposts(_ c: (String?, String?, Int, Int, Int)) {
    let r = DeploymentRules.resolveFenceposts(
      maxSurge: Self.amount(c.0), maxUnavailable: Self.amount(c.1), desired: c.2)
    #expect(r.surge == c.3)
    #expect(r.unavailable == c.4)
  }

  @Test("int-or-percent: upstream's invalid values are refused")
  func invalidAmounts() {
    #expect(DeploymentRules.intOrPercent("oops") == nil)
    #expect(DeploymentRules.intOrPercent("urg") == nil)
    #expect(DeploymentRules.intOrPercent("25%") == .percent(25))
    #expect(DeploymentRules.intOrPercent("3") == .int(3))
  }

  /// (strategy, deployment replicas, new RS replicas, maxSurge, expected): `TestNewRSNewReplicas`
  /// (another ReplicaSet holds 5 replicas; maxUnavailable 1).
  static let newReplicas: [(Bool, Int, Int, Int, Int)] = [
    (true, 1, 5, 1, 5),  // can not scale up: already at the new RS's size
    (true, 6, 2, 10, 6),  // scale up to the deployment's replicas
    (false, 3, 1, 1, 3),  // Recreate: straight to the deployment's replicas
  ]

  @Test("NewRSNewReplicas: how far the new ReplicaSet may grow", arguments: newReplicas)
  func newReplicaSetReplicas(_ c: (Bool, Int, Int, Int, Int)) {
    let strategy: DeploymentStrategy =
      c.0 ? .rollingUpdate(maxSurge: .int(c.3), maxUnavailable: .int(1)) : .recreate
    #expect(
      DeploymentRules.newReplicaSetReplicas(
        strategy: strategy, replicas: c.1, allReplicas: 5, newReplicas: c.2) == c.4)
  }

  @Test("MaxUnavailable is 0 for Recreate or no replicas and never above the replicas")
  func maxUnavailable() {
    let rolling = DeploymentStrategy.rollingUpdate(maxSurge: .int(0), maxUnavailable: .int(5))
    #expect(DeploymentRules.maxUnavailable(rolling, replicas: 3) == 3)
    #expect(DeploymentRules.maxUnavailable(rolling, replicas: 0) == 0)
    #expect(DeploymentRules.maxUnavailable(.recreate, replicas: 10) == 0)
    #expect(DeploymentRules.maxUnavailable(.default, replicas: 10) == 2)
    #expect(DeploymentRules.maxSurge(.default, replicas: 10) == 3)
    #expect(DeploymentRules.maxSurge(.recreate, replicas: 10) == 0)
  }

  @Test("proportional scaling: a ReplicaSet's share, rounded half away from zero")
  func fraction() {
    // 10 → 20 replicas (surge 3 → 5): a ReplicaSet of 4 last sized at max 13 gets
    // round(4 × 25 / 13) − 4 = round(7.69) − 4 = 4.
    #expect(
      DeploymentRules.replicaSetFraction(
        replicaSetReplicas: 4, deploymentReplicas: 20, maxSurge: 5, annotatedMaxReplicas: 13,
        statusReplicas: 13) == 4)
    // Scaling to zero takes everything.
    #expect(
      DeploymentRules.replicaSetFraction(
        replicaSetReplicas: 4, deploymentReplicas: 0, maxSurge: 0, annotatedMaxReplicas: 13,
        statusReplicas: 13) == -4)
    #expect(
      DeploymentRules.replicaSetProportion(replicaSetReplicas: 4, fraction: 4, toAdd: 3, added: 0)
        == 3)
    #expect(
      DeploymentRules.replicaSetProportion(
        replicaSetReplicas: 4, fraction: -4, toAdd: -2, added: 0) == -2)
    #expect(
      DeploymentRules.replicaSetProportion(replicaSetReplicas: 0, fraction: 4, toAdd: 3, added: 0)
        == 0)
  }
}

/// Back-off delays: the kubelet's CrashLoopBackOff and the Job controller's pod-failure back-off.
struct BackOffTests {
  static let s: Int64 = 1_000_000_000

  @Test("CrashLoopBackOff: the first restart at once, then 10 s doubling to 5 min")
  func crashLoop() {
    var b = ContainerBackOff()
    var exit: Int64 = 0
    var delays: [Int64] = []
    for _ in 0..<9 {
      let start = b.restartTime(finishedAt: exit)
      delays.append((start - exit) / Self.s)
      exit = start  // the container crashes as soon as it starts
    }
    #expect(delays == [0, 10, 20, 40, 80, 160, 300, 300, 300])
  }

  @Test("CrashLoopBackOff starts over after a run of more than 10 minutes")
  func crashLoopReset() {
    var b = ContainerBackOff()
    _ = b.restartTime(finishedAt: 0)
    let second = b.restartTime(finishedAt: 5 * Self.s)
    #expect(second == 15 * Self.s)
    // Ran from 15 s to 15 s + 601 s: more than twice the cap since the last restart.
    let third = b.restartTime(finishedAt: second + 601 * Self.s)
    #expect(third == second + 601 * Self.s)
    let fourth = b.restartTime(finishedAt: third + Self.s)
    #expect(fourth == third + 11 * Self.s)
    // Exactly 10 minutes is not more than 10 minutes: the back-off keeps doubling.
    var c = ContainerBackOff()
    _ = c.restartTime(finishedAt: 0)
    #expect(c.restartTime(finishedAt: 600 * Self.s) == 610 * Self.s)
  }

  @Test("Job pod-failure back-off: 10 s doubling, capped at 10 min (6 min when asked)")
  func jobBackOff() {
    #expect(JobBackOff.delay(failures: 0) == 0)
    #expect(
      (1...8).map { JobBackOff.delay(failures: $0) / Self.s } == [
        10, 20, 40, 80, 160, 320, 600, 600,
      ])
    #expect(JobBackOff.delay(failures: 7, maximum: 360 * Self.s) == 360 * Self.s)
    #expect(JobBackOff.delay(failures: 1000) == 600 * Self.s)
  }

  /// `TestNewBackoffRecord`: (record before, new successes, new failures (ms before t), record
  /// after (failures, last failure in ms before t)).
  static let backOffRecords: [(JobBackOffRecord, [Int64], [Int64], Int, Int64?)] = [
    (JobBackOffRecord(), [], [0], 1, 0),
    (JobBackOffRecord(), [], [0, -1], 2, 0),
    (JobBackOffRecord(), [0], [-2, -1], 0, nil),
    (JobBackOffRecord(), [-2], [0, -4, -3, -1], 2, 0),
    (JobBackOffRecord(failuresAfterLastSuccess: 2), [], [0], 3, 0),
    (JobBackOffRecord(), [0], [0], 0, nil),
    (JobBackOffRecord(), [], [], 0, nil),
    (JobBackOffRecord(), [0], [], 0, nil),
  ]

  @Test("the Job back-off record counts failures after the last success only")
  func jobBackOffRecord() {
    let t: Int64 = 1_000_000 * Self.s
    let ms: Int64 = 1_000_000
    for (before, succeeded, failed, failures, last) in Self.backOffRecords {
      var r = before
      r.add(succeeded: succeeded.map { t + $0 * ms }, failed: failed.map { t + $0 * ms })
      #expect(
        r
          == JobBackOffRecord(
            failuresAfterLastSuccess: failures, lastFailure: last.map { t + $0 * ms }))
    }
    // `TestGetRemainingBackoffTime`, with Berth's 10 s initial delay: due after the delay.
    #expect(JobBackOffRecord(failuresAfterLastSuccess: 3, lastFailure: t).due() == t + 40 * Self.s)
    #expect(JobBackOffRecord(failuresAfterLastSuccess: 0, lastFailure: nil).due() == nil)
  }
}

/// `ActivePodsWithRanks.Less`: which pods a ReplicaSet deletes first.
struct PodDeletionOrderTests {
  static let s: Int64 = 1_000_000_000
  static let now: Int64 = 100_000 * s

  static func key(
    assigned: Bool = true, phase: PodDeletionKey.Phase = .running, ready: Bool = true,
    cost: Int32 = 0, colocated: Int = 0, readySince: Int64? = 0, restarts: Int32 = 0,
    created: Int64 = 0, uid: UInt64 = 0
  ) -> PodDeletionKey {
    PodDeletionKey(
      assigned: assigned, phase: phase, ready: ready, deletionCost: cost, colocated: colocated,
      readySince: readySince, restarts: restarts, created: created, uid: uid)
  }

  @Test("each rule in upstream's order decides before the next")
  func rules() {
    let first = PodDeletionKey.deletedFirst
    #expect(first(Self.key(assigned: false), Self.key(), Self.now))
    #expect(first(Self.key(phase: .pending), Self.key(phase: .unknown), Self.now))
    #expect(first(Self.key(phase: .unknown), Self.key(phase: .running), Self.now))
    #expect(first(Self.key(ready: false), Self.key(), Self.now))
    #expect(first(Self.key(cost: -1), Self.key(cost: 5), Self.now))
    #expect(first(Self.key(colocated: 3), Self.key(colocated: 1), Self.now))
    // Ready for less time goes first, on a log₂ scale of the time since.
    #expect(first(Self.key(readySince: Self.now - 10 * Self.s), Self.key(readySince: 0), Self.now))
    #expect(first(Self.key(restarts: 4), Self.key(restarts: 1), Self.now))
    #expect(first(Self.key(created: Self.now - Self.s), Self.key(created: 0), Self.now))
    // A rule decides even when a later one says otherwise.
    #expect(
      first(Self.key(ready: false, restarts: 0), Self.key(ready: true, restarts: 9), Self.now))
  }

  @Test("times in the same power-of-two bucket tie, and the UID decides")
  func logarithmicBuckets() {
    // 600 s and 1000 s ago: ⌊log₂⌋ of both in nanoseconds is 39.
    let a = Self.key(readySince: Self.now - 1000 * Self.s, uid: 2)
    let b = Self.key(readySince: Self.now - 600 * Self.s, uid: 1)
    #expect(PodDeletionKey.logarithmicRankDiff(a.readySince!, b.readySince!, now: Self.now) == 0)
    #expect(PodDeletionKey.deletedFirst(b, a, now: Self.now))
    #expect(!PodDeletionKey.deletedFirst(a, b, now: Self.now))
  }

  @Test("the integer log₂ bucket equals upstream's floating-point one, near powers of two too")
  func bucketsMatchFloatingPoint() {
    var ages: [Int64] = [1, 2, 3, 1_000_000_000, Int64.max, Int64.max - 1]
    for k in 1..<63 {
      let p = Int64(1) << k
      ages += [p - 1, p, p + 1, p - 2, p - (p >> 41), p - (p >> 45) - 1]
    }
    var rng = SplitMix64(seed: 14)
    for _ in 0..<20_000 {
      let bits = Int(rng.next() % 63)
      ages.append(Int64(rng.next() >> UInt64(64 - bits - 1)) | 1)
    }
    for d in ages where d > 0 {
      #expect(PodDeletionKey.bucket(0, now: d) == Int64(log2(Double(d))), "age \(d)")
    }
    #expect(PodDeletionKey.bucket(5, now: 5) == -1)
  }
}
