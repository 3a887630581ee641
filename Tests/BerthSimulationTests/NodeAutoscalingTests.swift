import BerthCore
import BerthTraces
import Foundation
import Testing

@testable import BerthSimulation

/// The Cluster Autoscaler in the simulated cluster: hand-computed timelines, every invariant
/// checked after every event.
struct NodeAutoscalingTests {
  /// A group of four-CPU nodes (16 GiB), and `workload` after it.
  static func scenario(
    duration: String = "30m", groups: String? = nil, flags: String = "{}",
    expander: String = "least-waste", actions: String = "[]", workload: String
  ) -> String {
    """
    apiVersion: berth.dev/v1alpha1
    kind: Scenario
    metadata: {name: ca}
    spec:
      duration: \(duration)
      actions: \(actions)
      clusterAutoscaler:
        expander: \(expander)
        flags: \(flags)
        nodeGroups:
    \(groups ?? Self.general())
    ---

    """ + workload
  }

  static func general(
    name: String = "general", min: Int = 1, max: Int = 10, cpu: String = "4",
    memory: String = "16Gi", delay: String = "60s", price: String = "0.2", pool: String? = nil,
    extra: String = ""
  ) -> String {
    """
        - name: \(name)
          minSize: \(min)
          maxSize: \(max)
          provisioningDelay: \(delay)
          pricePerHour: \(price)\(extra)
          template: {apiVersion: v1, kind: Node, metadata: {labels: {pool: \(pool ?? name)}}, status: {allocatable: {cpu: "\(cpu)", memory: \(memory), pods: "110"}}}
    """
  }

  static func deployment(
    _ name: String = "web", replicas: Int, cpu: String = "1", memory: String = "1Gi",
    namespace: String = "default", extra: String = ""
  ) -> String {
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: \(name), namespace: \(namespace)}
    spec:
      replicas: \(replicas)
      selector: {matchLabels: {app: \(name)}}
      template:
        metadata: {labels: {app: \(name)}}
        spec:
          containers:
          - {name: app, image: \(name), resources: {requests: {cpu: "\(cpu)", memory: \(memory)}}}\(extra)

    """
  }

  /// summary.json's `clusterAutoscaler` object, parsed.
  static func summary(_ sim: Simulation) throws -> [String: Any] {
    let json = try #require(sim.clusterAutoscaling?.summaryJSON())
    return try #require(
      try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
  }

  static func nodes(_ sim: Simulation, _ group: String = "general", at t: Double) -> Int64? {
    TimelineTests.recorded(sim, "NodeGroup,-,\(group),nodes", at: t)
  }

  /// 20 one-CPU pods, a group of four-CPU nodes starting at its minimum of one: four pods run
  /// at once, sixteen fail to schedule; the loop at 10 s packs them four to a node and asks
  /// for four nodes (one TriggeredScaleUp each, 1->5), which register Ready 60 s later, at
  /// 70 s, and take every pod.
  @Test func twentyOneCPUPodsOnFourCPUNodes() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(duration: "5m", workload: Self.deployment(replicas: 20)))
    #expect(Self.nodes(sim, at: 0) == 1)
    #expect(Self.nodes(sim, at: 69) == 1)
    #expect(Self.nodes(sim, at: 70) == 5)
    #expect(TimelineTests.recorded(sim, "NodeGroup,-,general,targetSize", at: 10) == 5)
    let triggered = TimelineTests.events(sim, reason: "TriggeredScaleUp")
    #expect(triggered.count == 16 && triggered.allSatisfy { $0 == 10 })
    #expect(sim.recorder.events.contains("pod triggered scale-up: [{general 1->5 (max: 10)}]"))
    #expect(TimelineTests.events(sim, reason: "ScaledUpGroup") == [10])
    #expect(TimelineTests.recorded(sim, "Cluster,-,-,pendingPods", at: 70) == 0)
    #expect(TimelineTests.recorded(sim, "Cluster,-,-,pendingPods", at: 69) == 16)
    // Nodes are named after the group and labelled with it.
    let names = (0..<sim.cluster.nodes.count).filter { !sim.nodes.isRemoved($0) }.map {
      sim.cluster.nodes.specs[$0].name
    }.sorted()
    #expect(names == ["general-0", "general-1", "general-2", "general-3", "general-4"])
    #expect(
      (0..<sim.cluster.nodes.count).filter { !sim.nodes.isRemoved($0) }.allSatisfy {
        sim.cluster.nodes.specs[$0].labels["berth.dev/node-group"] == "general"
      })
  }

  /// The same 20 pods scaled down to 4 at 100 s: the 16 go from the four new nodes, which are
  /// unneeded from the loop at 110 s; the scale-up at 10 s holds deletions until 610 s
  /// (delay-after-add), the unneeded time until 710 s, when all four empty nodes are tainted at
  /// once and, 5 s later (node-delete-delay-after-taint), deleted.
  @Test func emptyNodesGoInBulkOnceUnneededLongEnough() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        duration: "20m", actions: "[{at: 100s, scale: {kind: Deployment, name: web, replicas: 4}}]",
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(sim, reason: "ScaleDownEmpty") == [710, 710, 710, 710])
    #expect(TimelineTests.events(sim, reason: "RemovingNode") == [715, 715, 715, 715])
    #expect(Self.nodes(sim, at: 714) == 5)
    #expect(Self.nodes(sim, at: 715) == 1)
    #expect(
      TimelineTests.recorded(sim, "ClusterAutoscaler,-,cluster-autoscaler,unneededNodes", at: 110)
        == 4)
    // The group's minimum of one keeps the last node, idle or not.
    #expect(Self.nodes(sim, at: 1200) == 1)
  }

  /// Neither timer is cut short: with `scale-down-delay-after-add: 15m` the deletions wait for
  /// 10 s + 900 s; with `scale-down-unneeded-time: 20m`, for 110 s + 1200 s.
  @Test func noNodeGoesBeforeDelayAfterAddAndUnneededTime() throws {
    let actions = "[{at: 100s, scale: {kind: Deployment, name: web, replicas: 4}}]"
    let afterAdd = try TimelineTests.simulate(
      Self.scenario(
        duration: "30m", flags: "{scale-down-delay-after-add: 15m}", actions: actions,
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(afterAdd, reason: "ScaleDownEmpty").first == 910)
    let unneeded = try TimelineTests.simulate(
      Self.scenario(
        duration: "30m", flags: "{scale-down-unneeded-time: 20m}", actions: actions,
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(unneeded, reason: "ScaleDownEmpty").first == 1310)
    // Scale-down off: nothing goes.
    let off = try TimelineTests.simulate(
      Self.scenario(
        duration: "30m", flags: "{scale-down-enabled: false}", actions: actions,
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(off, reason: "RemovingNode").isEmpty)
  }

  /// Three group nodes, one kube-system pod without a PodDisruptionBudget and one web pod
  /// (half a CPU each, on two nodes). The empty node goes in bulk and the web pod's node is
  /// drained (its pod fits beside the kube-system one) at 610 s; the kube-system pod's node
  /// stays for the three hours (`blocking-system-pod-distruption-timeout: 1000h`, as before
  /// cluster-autoscaler 1.33), though it is under the threshold all along.
  @Test func aKubeSystemPodWithoutPDBKeepsItsNode() throws {
    let node = { (name: String) in
      "{apiVersion: v1, kind: Node, metadata: {name: \(name), labels: {berth.dev/node-group: general}}, status: {allocatable: {cpu: \"4\", memory: 16Gi, pods: \"110\"}}}\n---\n"
    }
    let workload =
      node("general-a") + node("general-b") + node("general-c")
      + Self.deployment("sys", replicas: 1, cpu: "500m", namespace: "kube-system") + "---\n"
      + Self.deployment("web", replicas: 1, cpu: "500m")
    let sim = try TimelineTests.simulate(
      Self.scenario(
        duration: "3h", groups: Self.general(min: 0),
        flags: "{blocking-system-pod-distruption-timeout: 1000h}", workload: workload))
    let pods = sim.cluster.pods
    let sys = try #require(
      (0..<pods.count).map { PodID(UInt32($0)) }.first {
        !sim.isGone($0) && sim.namespace($0) == "kube-system"
      })
    let home = try #require(pods.boundNode(sys)).index
    let homeName = sim.cluster.nodes.specs[home].name
    #expect(!sim.nodes.isRemoved(home))
    #expect(sim.podsCreated == 3)  // the kube-system pod was never moved
    #expect(TimelineTests.events(sim, reason: "RemovingNode").count == 2)
    #expect(TimelineTests.events(sim, reason: "RemovingNode", name: homeName).isEmpty)
    #expect(TimelineTests.events(sim, reason: "ScaleDownEmpty") == [610])
    #expect(TimelineTests.events(sim, reason: "ScaleDown").contains(610))
    #expect(Self.nodes(sim, at: 10_800) == 1)
  }

  /// Two groups, three pending pods of 1.5 CPU and 1 GiB: "small" (2 CPU, 8 GiB) needs three
  /// nodes and wastes 0.25 of their CPU and 0.875 of their memory (1.125); "large" (16 CPU,
  /// 64 GiB) needs one and wastes 0.72 + 0.95 = 1.67. least-waste takes small, least-nodes
  /// large.
  @Test func leastWastePicksTheGroupThatWastesLeast() throws {
    let groups =
      Self.general(name: "small", min: 0, cpu: "2", memory: "8Gi") + "\n"
      + Self.general(name: "large", min: 0, cpu: "16", memory: "64Gi")
    func run(_ expander: String) throws -> Simulation {
      try TimelineTests.simulate(
        Self.scenario(
          duration: "3m", groups: groups, expander: expander,
          workload: Self.deployment(replicas: 3, cpu: "1500m")))
    }
    let waste = try run("least-waste")
    #expect(Self.nodes(waste, "small", at: 70) == 3)
    #expect(Self.nodes(waste, "large", at: 70) == 0)
    let nodes = try run("least-nodes")
    #expect(Self.nodes(nodes, "small", at: 70) == 0)
    #expect(Self.nodes(nodes, "large", at: 70) == 1)
  }

  /// The cloud refuses the group until 2 min: the loop at 10 s reports ScaledUpGroup, then
  /// FailedToScaleUpGroup, and backs the group off for 5 min; the pods say why they trigger
  /// nothing meanwhile; at 310 s the scale-up goes through and the nodes are Ready at 370 s.
  @Test func aStockOutBacksTheGroupOff() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        duration: "10m",
        groups: Self.general(extra: "\n      unavailable: [{from: 0s, until: 2m}]"),
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(sim, reason: "FailedToScaleUpGroup") == [10])
    #expect(TimelineTests.events(sim, reason: "ScaledUpGroup") == [10, 310])
    #expect(Self.nodes(sim, at: 369) == 1)
    #expect(Self.nodes(sim, at: 370) == 5)
    #expect(
      sim.recorder.events.contains(
        "pod didn't trigger scale-up: 1 in backoff after failed scale-up"))
    // One NotTriggerScaleUp per pod while the reason holds, not one per loop.
    #expect(TimelineTests.events(sim, reason: "NotTriggerScaleUp").count == 16)
  }

  /// Nodes that take 20 min against `--max-node-provision-time` 15 min never come: the
  /// scale-up at 10 s times out at 910 s (ScaleUpTimedOut), the group backs off 5 min, and the
  /// pods ask again at 1210 s.
  @Test func nodesThatNeverComeTimeOut() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        duration: "25m", groups: Self.general(delay: "20m"),
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(sim, reason: "ScaleUpTimedOut") == [910])
    #expect(TimelineTests.events(sim, reason: "ScaledUpGroup") == [10, 1210])
    #expect(TimelineTests.recorded(sim, "NodeGroup,-,general,targetSize", at: 910) == 1)
    #expect(Self.nodes(sim, at: 1500) == 1)
  }

  /// `--balance-similar-node-groups`: two groups of one shape (zones aside) share the five
  /// nodes 3 and 2, one at a time to the smaller; without it one group takes all five.
  @Test func similarGroupsAreBalanced() throws {
    let groups =
      Self.general(name: "a", min: 0, pool: "p") + "\n" + Self.general(name: "b", min: 0, pool: "p")
    let balanced = try TimelineTests.simulate(
      Self.scenario(
        duration: "3m", groups: groups, flags: "{balance-similar-node-groups: true}",
        workload: Self.deployment(replicas: 20)))
    #expect(Self.nodes(balanced, "a", at: 70) == 3)
    #expect(Self.nodes(balanced, "b", at: 70) == 2)
    #expect(
      balanced.recorder.events.contains(
        "pod triggered scale-up: [{a 0->3 (max: 10)} {b 0->2 (max: 10)}]"))
    let single = try TimelineTests.simulate(
      Self.scenario(duration: "3m", groups: groups, workload: Self.deployment(replicas: 20)))
    let a = Self.nodes(single, "a", at: 70) ?? 0
    let b = Self.nodes(single, "b", at: 70) ?? 0
    #expect(a + b == 5 && (a == 0 || b == 0))
  }

  /// A drain the PodDisruptionBudget holds up: four web pods (ready 5 min after they start,
  /// `maxUnavailable: 1`) on a group node and a static one. Blocked (NotEnoughPdb) until they
  /// are Ready, rechecked at 310 s, unneeded from then: the drain starts at 910 s, evicts one
  /// pod at 915 s, cannot evict the other while its replacement is not Ready and gives up at
  /// 915 + 120 s (ScaleDownFailed); after the 5 min recheck and the 3 min cool-down the node
  /// is unneeded again from 1340 s and goes at 1950 s.
  @Test func aDrainThePDBHoldsUpFailsAndIsRetried() throws {
    let workload = """
      {apiVersion: v1, kind: Node, metadata: {name: general-a, labels: {berth.dev/node-group: general}}, status: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}}
      ---
      {apiVersion: v1, kind: Node, metadata: {name: static-0}, status: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}}
      ---
      {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web}, spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}}
      ---

      """ + Self.deployment(replicas: 4, cpu: "500m")
    let text = Self.scenario(duration: "40m", groups: Self.general(min: 0), workload: workload)
      .replacingOccurrences(
        of: "  actions: []",
        with: "  actions: []\n  behaviors: [{selector: {matchLabels: {app: web}}, readyAfter: 5m}]")
    let sim = try TimelineTests.simulate(text)
    #expect(TimelineTests.events(sim, reason: "ScaleDown", name: "general-a") == [910, 1940])
    #expect(TimelineTests.events(sim, reason: "ScaleDownFailed") == [1035])
    #expect(TimelineTests.events(sim, reason: "RemovingNode") == [1950])
  }

  /// The chain's first steps, load step → HPA decision → pod created: an External metric (1
  /// per pod) steps from 2 to 40 at 60 s; the default behavior grows the Deployment by at most
  /// max(4 pods, 100 %) per 15 s sync, 2 → 6 → 12 → 24 → 40 at 60, 75, 90 and 105 s. The wish
  /// for 40 is first read at 60 s and met only at 105 s, so the pods of each decision waited
  /// 0, 15, 30 and 45 s for it; each is created the instant its decision is made.
  @Test func theChainStartsAtTheLoadStep() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: ca-hpa}
      spec:
        duration: 10m
        loads:
        - name: queue
          shape: {steps: [{at: 0s, value: 2}, {at: 60s, value: 40}]}
        clusterAutoscaler:
          expander: least-waste
          nodeGroups:
      \(Self.general(max: 20))

      """ + AutoscalingTests.queueHPA + "---\n" + Self.deployment(replicas: 2)
    let sim = try TimelineTests.simulate(text)
    #expect(
      TimelineTests.events(sim, reason: "SuccessfulRescale", name: "web") == [60, 75, 90, 105])
    let pods = sim.cluster.pods
    var waits: [Double: Int] = [:]
    for p in 0..<pods.count where pods.createdAt[p] > 0 {
      let id = PodID(UInt32(p))
      let d = try #require(sim.horizontalAutoscaling.decision(of: id), "pod row \(p)")
      #expect(d.decided.nanoseconds == pods.createdAt[p], "created as decided")
      #expect(d.loadStep == .seconds(Int64(60)))
      waits[(d.decided - d.loadStep).seconds, default: 0] += 1
    }
    #expect(waits == [0: 4, 15: 6, 30: 12, 45: 16])
    // The two pods of the initial scale (at 0, no decision) have none.
    #expect(sim.horizontalAutoscaling.decision(of: PodID(UInt32(0))) == nil)
    // Every pod CA asked capacity for came from one of those decisions.
    sim.finish()
    let chains = try #require(sim.clusterAutoscaling?.chains.chains)
    #expect(!chains.isEmpty && chains.allSatisfy { $0.loadStep == .seconds(Int64(60)) })
    #expect(Set(chains.map { ($0.decided - $0.loadStep).seconds }).isSubset(of: [0, 15, 30, 45]))
    let object = try Self.summary(sim)
    let chain = try #require(object["chain"] as? [String: [String: Any]])
    #expect(chain["loadStepToDecisionSeconds"]?["max"] as? Double == 45)
    #expect(chain["decisionToCreatedSeconds"]?["max"] as? Double == 0)
    #expect(chain["loadStepToReadySeconds"]?["pods"] as? Int == chains.count)
  }

  /// The chain and the agreement in summary.json for the 20-pod scale-up: 16 pods waited 10 s
  /// for the loop, 60 s for their nodes, were scheduled the instant the nodes were Ready, and
  /// all landed on the nodes their scale-up made.
  @Test func theChainAndTheAgreement() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(duration: "5m", workload: Self.deployment(replicas: 20)))
    sim.finish()
    let object = try Self.summary(sim)
    let chain = try #require(object["chain"] as? [String: [String: Any]])
    #expect(chain["createdToTriggeredSeconds"]?["p50"] as? Double == 10)
    #expect(chain["triggeredToNodeReadySeconds"]?["max"] as? Double == 60)
    #expect(chain["nodeReadyToScheduledSeconds"]?["max"] as? Double == 0)
    #expect(chain["createdToReadySeconds"]?["pods"] as? Int == 16)
    let agreement = try #require(object["agreement"] as? [String: Int])
    #expect(
      agreement == [
        "scaleUpPods": 16, "onTheirNewNodes": 16, "placedElsewhere": 0, "neverPlaced": 0,
      ])
    let cost = try #require(object["cost"] as? [String: Any])
    // One node for 5 min and four for 230 s, at 0.2 an hour.
    let hours = (300.0 + 4 * 230) / 3600
    #expect(abs((cost["nodeHours"] as? Double ?? 0) - (hours * 1000).rounded() / 1000) < 1e-9)
  }

  /// Spot nodes reclaimed after 1 h on average: every SpotInterrupted notice is followed two
  /// minutes later by the node's removal, its pods are evicted at the notice, and the group,
  /// its target unchanged, brings a replacement 60 s after each reclaim. (When the evicted
  /// pods find no room during the notice the autoscaler may add a node too, which scale-down
  /// takes back later.)
  @Test func spotNodesAreReclaimedAfterTheirNotice() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        duration: "6h",
        groups: Self.general(
          min: 2, extra: "\n      spot: {meanTimeToInterruption: 1h, notice: 2m}"),
        workload: Self.deployment(replicas: 4)))
    let notices = TimelineTests.events(sim, reason: "SpotInterrupted")
    let removals = TimelineTests.events(sim, reason: "RemovingNode")
    #expect(notices.count >= 3)
    for t in notices where t + 120 <= 21_600 {
      #expect(removals.contains(t + 120))
      if t + 180 < 21_600 {
        #expect((Self.nodes(sim, at: t + 180) ?? 0) >= 2)
      }
    }
    #expect(TimelineTests.events(sim, reason: "Evicted").count > 0)
    #expect(Self.nodes(sim, at: 21_600) == 2)
  }

  /// The scenario's Cluster Autoscaler is read strictly: each mistake is one line naming file,
  /// line and what was expected.
  @Test(arguments: [
    (
      "flags: {scale-down-unneded-time: 5m}",
      "s.yaml:9: spec.clusterAutoscaler.flags.scale-down-unneded-time: unknown Cluster Autoscaler flag"
    ),
    ("flags: {scale-down-utilization-threshold: 1.5}", "expected a fraction between 0 and 1"),
    ("flags: {scan-interval: 100ms}", "must be at least 1s"),
    ("flags: {cores-total: \"10\"}", "expected min:max"),
    ("expander: cheapest", "expected expanders separated by commas"),
    ("expander: priority", "needs a ConfigMap cluster-autoscaler-priority-expander"),
  ])
  func badSettingsAreOneLine(_ c: (String, String)) {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: s}
      spec:
        duration: 1h
        clusterAutoscaler:
          nodeGroups:
          - {name: g, maxSize: 3, template: {apiVersion: v1, kind: Node, status: {allocatable: {cpu: "4"}}}}
          \(c.0)

      """
    let message = ScenarioReaderTests.error(text)
    #expect(message.contains(c.1), "\(message)")
    #expect(!message.contains("\n"))
  }

  @Test func badGroupsAreOneLine() {
    func group(_ g: String, nodes: String = "") -> String {
      ScenarioReaderTests.error(
        """
        apiVersion: berth.dev/v1alpha1
        kind: Scenario
        metadata: {name: s}
        spec:
          duration: 1h
          clusterAutoscaler:
            nodeGroups:
            - \(g)

        """ + nodes)
    }
    let template = "template: {apiVersion: v1, kind: Node, status: {allocatable: {cpu: \"4\"}}}"
    #expect(
      group("{name: g, minSize: 4, maxSize: 3, \(template)}").contains(
        "minSize 4 exceeds maxSize 3"))
    #expect(group("{name: g, maxSize: 200000, \(template)}").contains("expected 0…100000"))
    #expect(group("{name: g, maxSize: 3}").contains("needs a template"))
    #expect(group("{name: \"a b\", maxSize: 3, \(template)}").contains("expected a name"))
    #expect(
      group("{name: g, maxSize: 3, spot: {meanTimeToInterruption: 1s}, \(template)}")
        .contains("must be at least 1m"))
    #expect(
      group("{name: g, maxSize: 3, \(template), colour: red}").contains("unknown field"))
    #expect(
      group(
        "{name: g, maxSize: 3, \(template)}",
        nodes:
          "---\n{apiVersion: v1, kind: Node, metadata: {name: n, labels: {berth.dev/node-group: h}}, status: {allocatable: {cpu: \"4\"}}}\n"
      ).contains("no such node group"))
    let badRegex = ScenarioReaderTests.error(
      """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: s}
      spec:
        duration: 1h
        clusterAutoscaler:
          expander: priority
          nodeGroups: [{name: g, maxSize: 3, \(template)}]
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: cluster-autoscaler-priority-expander, namespace: kube-system}
      data: {priorities: "10: [\\"(unclosed\\"]"}

      """)
    #expect(badRegex.contains("not a valid regular expression"), "\(badRegex)")
  }
}
