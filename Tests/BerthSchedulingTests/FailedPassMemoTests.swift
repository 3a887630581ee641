import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// Failed passes are kept per filter shape and followed through the node journal: the rows that
/// changed since are filtered again and move their counts between reasons. Here a scheduler
/// with the memo and one that always filters run the same random interleavings of oversized
/// pods of several shapes, small pods that bind between them, unbinds, new nodes, taints and
/// cordons on two identical clusters, and must agree on every outcome, every node's first
/// failing filter, the diagnosis with each plugin's reasons, and the window.
struct FailedPassMemoTests {
  @Test("a kept failed pass, refreshed row by row, decides and diagnoses exactly as a fresh pass")
  func refreshedPassesAgreeWithFreshPasses() throws {
    var failures = 0
    var refreshed = 0
    for seed in UInt64(1)...150 {
      let (nodes, specs, profile) = RandomCluster.make(seed: seed)
      guard !specs.isEmpty else { continue }
      var rng = SplitMix64(seed: seed ^ 0x3E30)
      // Five shapes scaled up so that most fit nowhere once the cluster fills, and one small
      // shape whose pods land between them.
      let templates = (0..<6).map { k -> PodSpec in
        var spec = specs[rng.nextInt(below: specs.count)]
        for c in spec.containers.indices {
          spec.containers[c].requests["cpu"] = Quantity(milli: k == 5 ? 50 : Int64(400 + 700 * k))
          spec.containers[c].requests["memory"] = Quantity(integer: Int64(k == 5 ? 1 : 1 + k) << 28)
        }
        return spec
      }
      let run = try RandomCluster.runTwins(
        nodes, specs: templates, profile: profile, seed: seed, steps: 200, odds: (4, 2, 2),
        random: &rng, configure: { $0[1].reusesFailedPasses = false },
        check: { schedulers, outcomes, step in
          let at = "seed \(seed) step \(step)"
          #expect(outcomes[0] == outcomes[1], "\(at)")
          #expect(schedulers[0].lastWindow == schedulers[1].lastWindow, "\(at)")
          guard outcomes[0] == outcomes[1] else { return false }
          guard outcomes[0].node == nil else { return true }
          failures += 1
          let window = schedulers[0].lastWindow.rows
          #expect(
            window.map { schedulers[0].status[$0] } == window.map { schedulers[1].status[$0] },
            "\(at): each node's first failing filter")
          let d = zip(schedulers, outcomes).map { $0.diagnose($1.pod) }
          #expect(d[0].message == d[1].message, "\(at)")
          #expect("\(d[0].rejectedBy)" == "\(d[1].rejectedBy)", "\(at)")
          #expect("\(d[0].reasonsByPlugin)" == "\(d[1].reasonsByPlugin)", "\(at)")
          return true
        })
      let schedulers = run.schedulers
      refreshed += schedulers[0].refreshedFailedPasses
    }
    #expect(
      failures > 5_000 && refreshed > 1_500,
      "the runs exercise the memo: \(failures) failed cycles, \(refreshed) answered by a refreshed pass"
    )
  }

  @Test("a row that fits again ends the kept pass: the pod binds there")
  func aFreedRowEndsTheKeptPass() throws {
    let cluster = Cluster(
      nodes: (0..<4).map { Builders.node("n\($0)", cpu: 1000, memory: 1 << 32) })
    let scheduler = Scheduler(cluster: cluster, seed: 1, tieBreak: .lowestIndex)
    var fillers: [PodID] = []
    for i in 0..<4 {
      let p = try cluster.addPod(Builders.pod("fill\(i)", cpu: 800))
      #expect(scheduler.scheduleOne(p).node != nil)
      fillers.append(p)
    }
    // Two failures of one shape keep the pass; a third is answered from it.
    for i in 0..<3 {
      #expect(
        scheduler.scheduleOne(try cluster.addPod(Builders.pod("big\(i)", cpu: 500))).node == nil)
      cluster.bind(try cluster.addPod(Builders.pod("tiny\(i)", cpu: 1)), to: NodeID(UInt32(i)))
    }
    #expect(scheduler.refreshedFailedPasses >= 1)
    #expect(
      scheduler.diagnose(try #require(cluster.pods.id(named: "big2"))).message
        == "0/4 nodes are available: 4 Insufficient cpu.")
    cluster.unbind(fillers[3])
    let fits = scheduler.scheduleOne(try cluster.addPod(Builders.pod("big3", cpu: 500)))
    #expect(fits.node == NodeID(3))
  }
}

extension RandomCluster {
  /// Cordons or uncordons a random node, or gives it a NoSchedule taint or takes its taints
  /// away, on every cluster.
  static func toggleCordonOrTaint(of clusters: [Cluster], rng: inout SplitMix64) {
    let row = rng.nextInt(below: clusters[0].nodes.count)
    let id = NodeID(UInt32(row))
    guard clusters[0].exists(id) else { return }
    var spec = clusters[0].nodes.specs[row]
    if rng.nextInt(below: 2) == 0 {
      spec.unschedulable.toggle()
    } else {
      spec.taints =
        spec.taints.isEmpty ? [Taint(key: "dedicated", value: "db", effect: .noSchedule)] : []
    }
    for c in clusters { c.updateNode(id, to: spec) }
  }
}
