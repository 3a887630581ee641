import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// TaintToleration reads one byte per node (`NodeTable.taintByte`) while the cluster has at most
/// eight distinct taints, and the taint bitset's words beyond. Proof: through seeded node
/// additions, removals and taint updates (from three distinct taints to seventy, two words),
/// the byte column matches the taint bits (`invariantViolations`), the scheduler's verdict on
/// every row equals a plain check of the node's spec taints against the pod's tolerations, and
/// its score on every feasible row the reverse-normalised count of untolerated
/// PreferNoSchedule taints.
struct TaintByteTests {
  /// Hard and soft taints, each with its own key: `distinct` of them, so more than 64 need a
  /// second word per node.
  static func taints(_ distinct: Int) -> [Taint] {
    (0..<distinct).map { k in
      Taint(
        key: "t\(k)", value: "v\(k % 5)",
        effect: [TaintEffect.noSchedule, .noExecute, .preferNoSchedule][k % 3])
    }
  }

  static func run(seed: UInt64, distinct: Int, taintedPercent: Int) throws -> (
    bytes: Int, words: Int
  ) {
    var rng = SplitMix64(seed: seed)
    let taints = Self.taints(distinct)
    func chance(_ pct: Int) -> Bool { rng.nextInt(below: 100) < pct }
    func nodeTaints() -> [Taint] {
      guard chance(taintedPercent) else { return [] }
      // Distinct keys, so no two taints share a key and effect (the API server refuses that).
      var picked: [Taint] = []
      for _ in 0..<(1 + rng.nextInt(below: 3)) {
        let t = taints[rng.nextInt(below: taints.count)]
        if !picked.contains(t) { picked.append(t) }
      }
      return picked
    }
    var serial = 0
    func node() -> NodeSpec {
      serial += 1
      return Builders.node(
        "n\(serial)", cpu: 64_000, memory: 1 << 40, labels: ["topology.kubernetes.io/zone": "a"],
        taints: nodeTaints())
    }
    let cluster = Cluster(nodes: (0..<(100 + rng.nextInt(below: 300))).map { _ in node() })
    var profile = Profile.default
    profile.percentageOfNodesToScore = 100
    var counts = (bytes: 0, words: 0)
    for step in 0..<40 {
      // Churn: a node's taints rewritten, a node removed, a node added.
      for _ in 0..<(1 + rng.nextInt(below: 12)) {
        let live = cluster.walk.rows
        switch rng.nextInt(below: 4) {
        case 0 where live.count > 1:
          cluster.removeNode(NodeID(UInt32(live[rng.nextInt(below: live.count)])))
          if chance(50) { cluster.releaseRemovedNodeRows() }
        case 1: cluster.addNode(node())
        default:
          let row = live[rng.nextInt(below: live.count)]
          var spec = cluster.nodes.specs[row]
          spec.taints = nodeTaints()
          cluster.updateNode(NodeID(UInt32(row)), to: spec)
        }
      }
      #expect(cluster.invariantViolations().isEmpty, "seed \(seed) step \(step)")
      let tolerations = taints.filter { _ in chance(30) }.map {
        Toleration(
          key: $0.key, operator: .equal, value: $0.value,
          effect: chance(20) ? nil : $0.effect)
      }
      let pod = try cluster.addPod(Builders.pod("p\(step)", cpu: 1, tolerations: tolerations))
      let info = PodInfo(pod, in: cluster)
      let scheduler = Scheduler(cluster: cluster, profile: profile, seed: seed)
      let (window, feasible, _) = scheduler.findFeasibleNodes(info)
      var fitting: [Int] = []
      for row in cluster.walk.rows {
        let fits = cluster.nodes.taints[row].allSatisfy {
          !$0.effect.isHard || tolerations.tolerate($0)
        }
        if fits { fitting.append(row) }
        #expect(
          (scheduler.status[row] == 0) == fits,
          "seed \(seed) step \(step) row \(row): status \(scheduler.status[row])")
      }
      #expect(feasible == fitting.count, "seed \(seed) step \(step)")
      // The score: untolerated PreferNoSchedule taints (tolerations with no effect count),
      // 100 − 100·count/max over the feasible rows.
      scheduler.scoreFeasibleNodes(info, window: window)
      let plugin = try #require(scheduler.scorePlugins.firstIndex { $0.name == .taintToleration })
      let soft = fitting.map { row in
        Int64(
          cluster.nodes.taints[row].count { t in
            t.effect == .preferNoSchedule
              && !tolerations.contains {
                ($0.effect == nil || $0.effect == .preferNoSchedule) && $0.tolerates(t)
              }
          })
      }
      let most = soft.max() ?? 0
      for (row, count) in zip(fitting, soft) {
        let expected = most == 0 ? 100 : 100 - 100 * count / most
        #expect(
          scheduler.normalizedScore(plugin: plugin, row: row) == expected,
          "seed \(seed) step \(step) row \(row)")
      }
      if cluster.taints.count <= 8 {
        counts.bytes += 1
      } else {
        counts.words += 1
      }
    }
    return counts
  }

  @Test("verdicts and scores equal the spec taints' through churn, in bytes and in words")
  func verdicts() throws {
    var counts = (bytes: 0, words: 0)
    for seed in UInt64(1)...24 {
      let c = try Self.run(
        seed: seed, distinct: [3, 8, 10, 70][Int(seed % 4)],
        taintedPercent: [1, 6, 30, 70][Int(seed / 4 % 4)])
      counts.bytes += c.bytes
      counts.words += c.words
    }
    // Both paths are taken many times.
    #expect(counts.bytes > 200 && counts.words > 200, "\(counts)")
  }
}
