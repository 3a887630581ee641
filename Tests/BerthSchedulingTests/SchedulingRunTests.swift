import BerthCore
import BerthEngine
import BerthScheduling
import BerthTestSupport
import Testing

/// The one run driver: direct attempts and the queue decide alike when nothing waits, and the
/// profiles of one run share their cycle state.
struct SchedulingRunTests {
  /// Nodes and pods where every pod fits, of varied shapes.
  static func cluster(seed: UInt64) throws -> (Cluster, [PodID]) {
    var rng = SplitMix64(seed: seed)
    let nodes = (0..<40).map {
      Builders.node(
        "n\($0)", cpu: Int64(8000 + 1000 * rng.nextInt(below: 8)),
        memory: Int64(16 + rng.nextInt(below: 48)) << 30)
    }
    let cluster = Cluster(nodes: nodes)
    var pods: [PodID] = []
    for i in 0..<300 {
      pods.append(
        try cluster.addPod(
          Builders.pod(
            "p\(i)", cpu: Int64(50 * (1 + rng.nextInt(below: 8))),
            memory: Int64(1 + rng.nextInt(below: 4)) << 28)))
    }
    return (cluster, pods)
  }

  @Test("direct attempts and the queue place every pod alike when all fit", arguments: 1...12)
  func directEqualsQueued(seed: Int) throws {
    let (a, podsA) = try Self.cluster(seed: UInt64(seed))
    let direct = SchedulingRun(
      cluster: a, profiles: [.default], seed: UInt64(seed), mode: .direct)
    var timed = 0
    direct.onCycle = { _, _, decision, nanos in
      #expect(decision == nil)
      if nanos > 0 { timed += 1 }
    }
    let placedA = podsA.map { direct.attempt($0).node }
    #expect(direct.cycles == podsA.count && timed > 0)

    let (b, podsB) = try Self.cluster(seed: UInt64(seed))
    let queued = SchedulingRun(
      cluster: b, profiles: [.default], seed: UInt64(seed),
      mode: .queued(QueueSettings(), seed: UInt64(seed)))
    for (i, p) in podsB.enumerated() {
      queued.submit(p, at: VirtualTime(nanoseconds: Int64(i) * 1_000_000))
    }
    queued.run()
    #expect(queued.cycles == podsB.count)
    #expect(podsB.map { b.pods.boundNode($0) } == placedA)
    #expect(placedA.allSatisfy { $0 != nil })
  }

  @Test("two identical profiles splitting the pods decide exactly as one profile")
  func profilesShareCycleState() throws {
    let (a, podsA) = try Self.cluster(seed: 5)
    let one = SchedulingRun(cluster: a, profiles: [.default], seed: 5, mode: .direct)
    let placedA = podsA.map { one.attempt($0).node }
    let (b, podsB) = try Self.cluster(seed: 5)
    var second = Profile.default
    second.schedulerName = "second"
    let two = SchedulingRun(
      cluster: b, profiles: [.default, second], seed: 5, profileOf: { $0.index % 2 },
      mode: .direct)
    #expect(two.scheduler(of: podsB[1]).profile.schedulerName == "second")
    #expect(podsB.map { two.attempt($0).node } == placedA)
  }
}
