import BerthCore
import BerthScheduling
import BerthTestSupport
import BerthTraces
import Testing

/// Score replay against the real kube-scheduler (v1.26.15), method in the oracle's README.
struct OracleConformanceTests {
  static func loadCluster(_ input: String) throws -> Cluster {
    let (nodes, pods) = try ClusterCSV.read(directory: Oracle.input(input))
    let cluster = Cluster(nodes: nodes)
    for p in pods { try cluster.addPod(p) }
    return cluster
  }

  @Test(
    "node rows follow the scheduler's snapshot order",
    .enabled(
      if: Skips.unless(Oracle.isAvailable, "needs ../shared/oracles (the kube-scheduler oracle)")),
    arguments: ["N1000_pct100", "N500_pctdefault"])
  func snapshotOrder(run: String) throws {
    let input = String(run.prefix { $0 != "_" })
    let cluster = try Self.loadCluster(input)
    let expected = try Oracle.lines(Oracle.run(run) + "/snapshot_node_order.csv").dropFirst().map {
      String($0.split(separator: ",")[1])
    }
    #expect(cluster.nodes.names == expected)
  }

  @Test(
    "every plugin score and total equals the oracle's on every scored node",
    .enabled(
      if: Skips.unless(Oracle.isAvailable, "needs ../shared/oracles (the kube-scheduler oracle)")),
    arguments: ["N1000_pct100", "N1000_pctdefault"])
  func scoreReplay(run: String) throws {
    let cluster = try Self.loadCluster("N1000")
    let scheduler = Scheduler(cluster: cluster, seed: 1)
    let header = try Oracle.lines(Oracle.run(run) + "/scores_full.csv.gz").first!.split(
      separator: ","
    ).map(String.init)
    let pluginColumns = header[4...].map { name in
      (name, scheduler.scorePlugins.firstIndex { $0.name.rawValue == name })
    }
    var rowsByPod: [String: [[Substring]]] = [:]
    for line in try Oracle.lines(Oracle.run(run) + "/scores_full.csv.gz").dropFirst() {
      let f = line.split(separator: ",", omittingEmptySubsequences: false)
      rowsByPod[String(f[0]), default: []].append(f)
    }
    var topByPod: [String: Set<String>] = [:]
    for line in try Oracle.lines(Oracle.run(run) + "/scores_top.csv.gz").dropFirst() {
      let f = line.split(separator: ",", omittingEmptySubsequences: false)
      topByPod[String(f[0])] = Set(f[6].split(separator: ";").map(String.init))
    }
    let placements = try Oracle.placements(run)
    var comparedRows = 0
    var mismatches: [String] = []
    for i in 0..<200 {
      let podName = placements[i].pod
      let pod = try #require(cluster.pods.id(named: podName))
      if let rows = rowsByPod[podName] {
        let nodeRows = rows.map { cluster.nodes.id(named: String($0[2]))!.index }
        let rejected = scheduler.scoreExactly(pod, rows: nodeRows)
        #expect(
          rejected.isEmpty,
          "\(podName): oracle-scored nodes rejected by Berth's filters: \(rejected)")
        var best = Int64.min
        for (row, f) in zip(nodeRows, rows) {
          comparedRows += 1
          let total = scheduler.total[row]
          best = max(best, total)
          if total != Int64(f[3])! {
            mismatches.append("\(podName) \(f[2]) total \(total) != \(f[3])")
          }
          for (c, (name, plugin)) in pluginColumns.enumerated() {
            let expected = Int64(f[4 + c])!
            let actual =
              plugin.map {
                scheduler.normalizedScore(plugin: $0, row: row) * scheduler.scoreWeights[$0]
              } ?? 0
            if actual != expected {
              mismatches.append("\(podName) \(f[2]) \(name) \(actual) != \(expected)")
            }
          }
        }
        let top = Set(
          zip(nodeRows, rows).filter { scheduler.total[$0.0] == best }.map { String($0.1[2]) })
        #expect(top == topByPod[podName], "\(podName): top-node set differs")
      }
      if placements[i].node != "unschedulable" {
        cluster.bind(pod, to: try #require(cluster.nodes.id(named: placements[i].node)))
      }
    }
    #expect(comparedRows > 50_000, "too few scored rows compared")
    #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    cluster.checkInvariants()
  }

  @Test(
    "the unschedulable count on N500 agrees with the oracle within 1 %",
    .enabled(
      if: Skips.unless(Oracle.isAvailable, "needs ../shared/oracles (the kube-scheduler oracle)")))
  func unschedulableCount() throws {
    let cluster = try Self.loadCluster("N500")
    let scheduler = Scheduler(cluster: cluster, seed: 42)
    var unschedulable = 0
    for p in 0..<cluster.pods.count where scheduler.scheduleOne(PodID(UInt32(p))).node == nil {
      unschedulable += 1
    }
    let expected = try Oracle.placements("N500_pctdefault").filter { $0.node == "unschedulable" }
      .count
    #expect(expected == 1776)
    #expect(
      abs(unschedulable - expected) * 100 <= expected,
      "Berth \(unschedulable) vs oracle \(expected)")
    cluster.checkInvariants()
  }
}
