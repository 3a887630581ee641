import BerthCore
import BerthEngine
import BerthScheduling
import BerthTestSupport
import Foundation
import Testing

@testable import BerthSimulation

/// A simulation frees everything it made once dropped: the fuzz target runs hundreds of
/// thousands of them in one process, a service would run many.
struct LifetimeTests {
  static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("datasets/scenarios").path

  @Test(arguments: ["recreate-and-scale.yaml", "vpa-oom-loop.yaml", "keda-scale-to-zero.yaml"])
  func aDroppedSimulationIsFreed(_ file: String) throws {
    weak var simulation: Simulation?
    weak var engine: Engine?
    weak var cluster: Cluster?
    do {
      let sim = try Simulation(scenario: try Scenario.read(path: Self.dir + "/" + file))
      sim.run(until: .seconds(Int64(600)))
      simulation = sim
      engine = sim.engine
      cluster = sim.cluster
    }
    // Compared outside the expectations: a failing one would reflect the live object graph.
    let freed = (simulation: simulation == nil, engine: engine == nil, cluster: cluster == nil)
    #expect(freed.simulation)
    #expect(freed.engine)
    #expect(freed.cluster)
  }

  /// A queued scheduling run that made its own engine (`berth bench`, `berth schedule`) frees
  /// it, and the cluster, with itself.
  @Test func aDroppedQueuedRunFreesItsEngine() throws {
    weak var engine: Engine?
    weak var cluster: Cluster?
    do {
      let c = Cluster(nodes: [Builders.node("n", cpu: 4000, memory: 1 << 32)])
      _ = try c.addPod(Builders.pod("p", cpu: 100, memory: 1 << 20))
      let run = SchedulingRun(
        cluster: c, profiles: [.default], seed: 1, mode: .queued(QueueSettings(), seed: 1))
      run.queue?.engine.run()
      engine = run.queue?.engine
      cluster = c
    }
    let freed = (engine: engine == nil, cluster: cluster == nil)
    #expect(freed.engine)
    #expect(freed.cluster)
  }
}
