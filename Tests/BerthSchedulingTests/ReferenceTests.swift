import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// The columnar scheduler against the plain per-node reference, over many seeded clusters.
struct ReferenceTests {
  @Test("columnar decisions, windows and totals equal the plain reference on 1,000 random clusters")
  func sweep() throws {
    var pods = 0
    var diagnosed = 0
    for seed in UInt64(1)...1000 {
      let (nodes, specs, profile) = RandomCluster.make(seed: seed)
      let cluster = Cluster(nodes: nodes)
      let reference = ReferenceScheduler(nodes: nodes, profile: profile)
      for ns in RandomCluster.namespaces {
        cluster.declareNamespace(ns.name, labels: ns.labels)
        reference.namespaces[ns.name] = ns.labels
      }
      let scheduler = Scheduler(
        cluster: cluster, profile: profile, seed: seed, tieBreak: .lowestIndex)
      for spec in specs {
        let pod = try cluster.addPod(spec)
        let expected = try reference.schedule(spec)
        let actual = scheduler.scheduleOne(pod)
        pods += 1
        #expect(actual.node?.index == expected.node, "seed \(seed) pod \(spec.name): node")
        #expect(
          actual.evaluatedNodes == expected.evaluated, "seed \(seed) pod \(spec.name): evaluated")
        if actual.node == nil && !nodes.isEmpty && scheduler.lastRejection == nil {
          // The linear reason histogram equals one built node by node from each node's reasons.
          var slow: [String: Int] = [:]
          for row in 0..<cluster.nodes.count where scheduler.status[row] != 255 {
            for r in scheduler.check(pod, on: NodeID(UInt32(row)))?.reasons ?? [] {
              slow[r, default: 0] += 1
            }
          }
          let fast = scheduler.diagnose(pod).reasons
          #expect(
            Dictionary(uniqueKeysWithValues: fast.map { ($0.reason, $0.count) }) == slow,
            "seed \(seed) pod \(spec.name): reasons")
          diagnosed += 1
        }
        if actual.topScore != nil {
          for (row, total) in expected.totals where scheduler.total[row] != total {
            Issue.record(
              "seed \(seed) pod \(spec.name) node \(nodes.count) row \(row): total \(scheduler.total[row]) != \(total)"
            )
          }
        }
        // Ignored extended resources are not checked by the filter, so they may exceed allocatable.
        let ignored = profile.arguments[NodeResourcesFitArguments.self].ignoredResourceGroups
        let violations = cluster.invariantViolations().filter {
          !$0.isOverAllocatable(inResourceGroups: ignored)
        }
        #expect(violations.isEmpty, "seed \(seed)")
      }
    }
    #expect(pods > 10_000)
    #expect(diagnosed > 1_000)
  }
}
