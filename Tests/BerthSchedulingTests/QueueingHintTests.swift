import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// Queueing hints: per plugin, whether a cluster change may make a pod it rejected schedulable
/// (upstream's `QueueingHintFn`s), and how the queue uses them.
struct QueueingHintTests {
  static let gi: Int64 = 1 << 30

  /// The hint of `plugin` for the pod named `pod` after `change`, in a scheduler over `cluster`.
  static func hint(
    _ plugin: PluginName, _ cluster: Cluster, _ pod: String, _ change: ClusterChange,
    profile: Profile = .default
  ) throws -> Bool {
    let scheduler = Scheduler(cluster: cluster, profile: profile, seed: 1)
    let f = try #require(scheduler.filterPlugins.first { $0.name == plugin })
    let id = try #require(cluster.pods.id(named: pod))
    return f.queueingHint(PodInfo(id, in: cluster), after: change, cluster: cluster)
  }

  static func pod(
    _ name: String, cpu: Int64 = 100, labels: [String: String] = [:], namespace: String = "default"
  ) -> PodSpec {
    var s = Builders.pod(name, cpu: cpu, memory: 1 << 20)
    s.labels = labels
    s.namespace = namespace
    return s
  }

  @Test(
    "NodeResourcesFit: a deleted bound pod may help; a new node only when the pod fits it empty, ignored resources included"
  )
  func fit() throws {
    let c = Cluster(nodes: [Builders.node("small", cpu: 500, memory: Self.gi)])
    var big = Self.pod("big", cpu: 2000)
    big.containers[0].requests["example.com/widget"] = Quantity(integer: 1)
    _ = try c.addPod(big)
    let other = try c.addPod(Self.pod("other"))
    #expect(try Self.hint(.nodeResourcesFit, c, "big", .assignedPodDeleted(other)))
    let roomy = c.addNode(
      Builders.node("roomy", cpu: 4000, memory: 4 * Self.gi, scalars: [("example.com/widget", 2)]))
    let noWidget = c.addNode(Builders.node("no-widget", cpu: 4000, memory: 4 * Self.gi))
    let tight = c.addNode(
      Builders.node("tight", cpu: 1000, memory: 4 * Self.gi, scalars: [("example.com/widget", 2)]))
    let full = c.addNode(
      Builders.node(
        "no-pods", cpu: 4000, memory: 4 * Self.gi, pods: 0, scalars: [("example.com/widget", 2)]))
    #expect(try Self.hint(.nodeResourcesFit, c, "big", .nodeAdded(roomy)))
    #expect(try !Self.hint(.nodeResourcesFit, c, "big", .nodeAdded(tight)))
    #expect(try !Self.hint(.nodeResourcesFit, c, "big", .nodeAdded(full)))
    #expect(try !Self.hint(.nodeResourcesFit, c, "big", .nodeAdded(noWidget)))
    var ignoring = Profile.default
    ignoring.arguments[NodeResourcesFitArguments.self].ignoredResourceGroups = ["example.com"]
    // The filter would ignore the widget request; upstream's hint checks it all the same.
    #expect(try !Self.hint(.nodeResourcesFit, c, "big", .nodeAdded(noWidget), profile: ignoring))
  }

  /// `isSchedulableAfterPodScaleDown`: the pod itself, or a bound pod whose request for
  /// something the pod requests went down; the cluster records only decreases.
  @Test("NodeResourcesFit: a bound pod resized down in what the pod requests helps")
  func scaleDown() throws {
    let c = Cluster(nodes: [Builders.node("n", cpu: 1000, memory: Self.gi)])
    _ = try c.addPod(Builders.pod("wants-cpu", cpu: 800, memory: 0))
    let bound = try c.addPod(Builders.pod("bound", cpu: 600, memory: 1 << 28))
    let pending = try c.addPod(Builders.pod("pending", cpu: 600, memory: 1 << 28))
    c.bind(bound, to: NodeID(0))
    c.recordedKinds = .all
    // Memory only down: no help to a pod requesting CPU alone.
    c.resizePod(
      bound, requestCPU: 600, requestMemory: 1 << 27, nonZeroCPU: 600, nonZeroMemory: 1 << 27)
    let memoryDown = try #require(c.nextChange())
    #expect(memoryDown == .assignedPodScaledDown(bound, oldCPU: 600, oldMemory: 1 << 28))
    #expect(try !Self.hint(.nodeResourcesFit, c, "wants-cpu", memoryDown))
    #expect(c.nextChange() == nil)
    c.resizePod(
      bound, requestCPU: 100, requestMemory: 1 << 27, nonZeroCPU: 100, nonZeroMemory: 1 << 27)
    let cpuDown = try #require(c.nextChange())
    #expect(try Self.hint(.nodeResourcesFit, c, "wants-cpu", cpuDown))
    #expect(c.nodes.requestedCPU[0] == 100 && c.nodes.requestedMemory[0] == 1 << 27)
    // A resize up records nothing; an unbound pod's resize helps no one else.
    c.resizePod(
      bound, requestCPU: 300, requestMemory: 1 << 27, nonZeroCPU: 300, nonZeroMemory: 1 << 27)
    _ = c.nextChange()
    #expect(!c.hasChanges)
    #expect(
      try !Self.hint(
        .nodeResourcesFit, c, "wants-cpu",
        .assignedPodScaledDown(pending, oldCPU: 900, oldMemory: 0)))
    c.checkInvariants()
  }

  @Test("NodePorts: only a deleted pod holding a wanted host port helps")
  func ports() throws {
    let c = Cluster(nodes: [Builders.node("n", cpu: 4000, memory: 4 * Self.gi)])
    _ = try c.addPod(Builders.pod("want", cpu: 100, hostPorts: [ContainerPort(hostPort: 8080)]))
    let same = try c.addPod(
      Builders.pod("same", cpu: 100, hostPorts: [ContainerPort(hostPort: 8080, hostIP: "10.0.0.1")])
    )
    let udp = try c.addPod(
      Builders.pod("udp", cpu: 100, hostPorts: [ContainerPort(hostPort: 8080, protocol: .udp)]))
    let none = try c.addPod(Builders.pod("none", cpu: 100))
    #expect(try Self.hint(.nodePorts, c, "want", .assignedPodDeleted(same)))
    #expect(try !Self.hint(.nodePorts, c, "want", .assignedPodDeleted(udp)))
    #expect(try !Self.hint(.nodePorts, c, "want", .assignedPodDeleted(none)))
  }

  @Test(
    "PodTopologySpread: bound pods of the namespace matching a hard constraint, and new nodes carrying every key"
  )
  func spread() throws {
    let zone = "topology.kubernetes.io/zone"
    let c = Cluster(nodes: [Builders.node("n", cpu: 4000, memory: 4 * Self.gi, labels: [zone: "a"])]
    )
    var hard = Self.pod("hard", labels: ["app": "web"])
    hard.topologySpreadConstraints = [
      TopologySpreadConstraint(
        maxSkew: 1, topologyKey: zone, doNotSchedule: true,
        labelSelector: LabelSelector(matchLabels: ["app": "web"]))
    ]
    var soft = hard
    soft.name = "soft"
    soft.topologySpreadConstraints[0].doNotSchedule = false
    _ = try c.addPod(hard)
    _ = try c.addPod(soft)
    let web = try c.addPod(Self.pod("web", labels: ["app": "web"]))
    let db = try c.addPod(Self.pod("db", labels: ["app": "db"]))
    let elsewhere = try c.addPod(Self.pod("elsewhere", labels: ["app": "web"], namespace: "other"))
    #expect(try Self.hint(.podTopologySpread, c, "hard", .assignedPodAdded(web)))
    #expect(try Self.hint(.podTopologySpread, c, "hard", .assignedPodDeleted(web)))
    #expect(try !Self.hint(.podTopologySpread, c, "hard", .assignedPodAdded(db)))
    #expect(try !Self.hint(.podTopologySpread, c, "hard", .assignedPodAdded(elsewhere)))
    #expect(
      try !Self.hint(.podTopologySpread, c, "soft", .assignedPodAdded(web)),
      "only hard constraints count")
    let zoned = c.addNode(
      Builders.node("zoned", cpu: 4000, memory: 4 * Self.gi, labels: [zone: "b"]))
    let bare = c.addNode(Builders.node("bare", cpu: 4000, memory: 4 * Self.gi))
    #expect(try Self.hint(.podTopologySpread, c, "hard", .nodeAdded(zoned)))
    #expect(try !Self.hint(.podTopologySpread, c, "hard", .nodeAdded(bare)))
  }

  @Test(
    "InterPodAffinity: a bound pod matching every affinity term arrives, one matching every anti-affinity term leaves, a node with a term's key joins"
  )
  func affinity() throws {
    let host = "kubernetes.io/hostname"
    let zone = "topology.kubernetes.io/zone"
    let c = Cluster(nodes: [Builders.node("n", cpu: 4000, memory: 4 * Self.gi)])
    var follower = Self.pod("follower")
    follower.podAffinity.required = [
      PodAffinityTerm(labelSelector: LabelSelector(matchLabels: ["app": "db"]), topologyKey: zone)
    ]
    var loner = Self.pod("loner")
    loner.podAntiAffinity.required = [
      PodAffinityTerm(labelSelector: LabelSelector(matchLabels: ["app": "web"]), topologyKey: host)
    ]
    var picky = Self.pod("picky")
    picky.podAffinity.required = [
      PodAffinityTerm(
        labelSelector: LabelSelector(matchLabels: ["app": "db"]),
        namespaceSelector: LabelSelector(matchLabels: ["team": "x"]), topologyKey: zone)
    ]
    var repeller = Self.pod("repeller", labels: ["app": "db"])
    repeller.podAntiAffinity.required = [
      PodAffinityTerm(labelSelector: LabelSelector(), topologyKey: host)
    ]
    for s in [follower, loner, picky, Self.pod("plain")] { _ = try c.addPod(s) }
    let db = try c.addPod(Self.pod("db", labels: ["app": "db"]))
    let web = try c.addPod(Self.pod("web", labels: ["app": "web"]))
    let holder = try c.addPod(repeller)
    #expect(try Self.hint(.interPodAffinity, c, "follower", .assignedPodAdded(db)))
    #expect(try !Self.hint(.interPodAffinity, c, "follower", .assignedPodAdded(web)))
    #expect(
      try !Self.hint(.interPodAffinity, c, "follower", .assignedPodDeleted(db)),
      "affinity pods leaving never help")
    #expect(try Self.hint(.interPodAffinity, c, "loner", .assignedPodDeleted(web)))
    #expect(try !Self.hint(.interPodAffinity, c, "loner", .assignedPodDeleted(db)))
    // A namespace selector is matched against no labels in the hint, so it selects nothing here.
    #expect(try !Self.hint(.interPodAffinity, c, "picky", .assignedPodAdded(db)))
    // A pod kept out by a bound pod's anti-affinity is not requeued when that pod leaves (upstream).
    #expect(try !Self.hint(.interPodAffinity, c, "plain", .assignedPodDeleted(holder)))
    let hosted = c.addNode(Builders.node("hosted", cpu: 4000, memory: 4 * Self.gi))
    #expect(
      try Self.hint(.interPodAffinity, c, "loner", .nodeAdded(hosted)),
      "every node carries the hostname key")
    #expect(try !Self.hint(.interPodAffinity, c, "follower", .nodeAdded(hosted)), "no zone label")
  }

  @Test("node-property plugins: a new node helps when the plugin accepts the pod there")
  func nodeProperties() throws {
    let c = Cluster(nodes: [Builders.node("n", cpu: 4000, memory: 4 * Self.gi)])
    var selective = Self.pod("selective")
    selective.nodeSelector = ["disk": "ssd"]
    _ = try c.addPod(selective)
    let ssd = c.addNode(
      Builders.node("ssd", cpu: 4000, memory: 4 * Self.gi, labels: ["disk": "ssd"]))
    let hdd = c.addNode(
      Builders.node("hdd", cpu: 4000, memory: 4 * Self.gi, labels: ["disk": "hdd"]))
    let tainted = c.addNode(
      Builders.node(
        "tainted", cpu: 4000, memory: 4 * Self.gi, labels: ["disk": "ssd"],
        taints: [Taint(key: "gpu", effect: .noSchedule)]))
    let cordoned = c.addNode(
      Builders.node("cordoned", cpu: 4000, memory: 4 * Self.gi, unschedulable: true))
    #expect(try Self.hint(.nodeAffinity, c, "selective", .nodeAdded(ssd)))
    #expect(try !Self.hint(.nodeAffinity, c, "selective", .nodeAdded(hdd)))
    #expect(try Self.hint(.taintToleration, c, "selective", .nodeAdded(ssd)))
    #expect(try !Self.hint(.taintToleration, c, "selective", .nodeAdded(tainted)))
    #expect(try !Self.hint(.nodeUnschedulable, c, "selective", .nodeAdded(cordoned)))
    #expect(try Self.hint(.nodeUnschedulable, c, "selective", .nodeAdded(hdd)))
  }

  @Test(
    "the queue moves a rejected pod only when a rejecting plugin's hint says Queue; a pod no plugin rejected moves on any event"
  )
  func queueUsesHints() {
    let q = SchedulingQueue()
    let plugins: [PluginName] = [.podTopologySpread, .interPodAffinity]
    for p in 0..<3 { q.add(PodID(UInt32(p)), priority: 0, gated: false, at: .zero) }
    for _ in 0..<3 { _ = q.pop() }
    q.addUnschedulable(PodID(0), rejectedBy: 0b01, at: .zero)
    q.addUnschedulable(PodID(1), rejectedBy: 0b10, at: .zero)
    q.addUnschedulable(PodID(2), rejectedBy: 0, at: .zero)
    var asked: [(Int, Int)] = []
    let moved = q.move(on: .assignedPodAdd, plugins: plugins, at: .zero) { pod, i in
      asked.append((pod.index, i))
      return pod.index == 1
    }
    #expect(moved == 2)
    #expect(
      q.location[0] == .unschedulable && q.location[1] != .unschedulable
        && q.location[2] != .unschedulable)
    #expect(
      asked.map(\.1) == asked.map { $0.0 }, "each pod is asked about its own rejecting plugin")
  }

  @Test(
    "a pending pod with required affinity is retried when a matching pod binds, not when an unrelated one does; without hints it is retried on both"
  )
  func affinityRetries() throws {
    func run(hints: Bool) throws -> (cycles: Int, bound: Bool) {
      let c = Cluster(
        nodes: (0..<3).map {
          Builders.node(
            "n\($0)", cpu: 4000, memory: 4 * Self.gi,
            labels: ["topology.kubernetes.io/zone": "z\($0)"])
        })
      var settings = QueueSettings()
      settings.queueingHints = hints
      let run = QueueRun(scheduler: Scheduler(cluster: c, seed: 1), seed: 1, settings: settings)
      var follower = Self.pod("follower")
      follower.podAffinity.required = [
        PodAffinityTerm(
          labelSelector: LabelSelector(matchLabels: ["app": "db"]),
          topologyKey: "topology.kubernetes.io/zone")
      ]
      run.submit(try c.addPod(follower), at: .zero)
      run.submit(try c.addPod(Self.pod("web", labels: ["app": "web"])), at: .seconds(Int64(20)))
      run.submit(try c.addPod(Self.pod("db", labels: ["app": "db"])), at: .seconds(Int64(40)))
      run.run()
      return (run.cycles, run.stillPending.isEmpty)
    }
    let hinted = try run(hints: true)
    let plain = try run(hints: false)
    #expect(hinted.bound && plain.bound)
    #expect(hinted.cycles == 4, "follower ✗, web ✓, db ✓, follower ✓")
    #expect(plain.cycles == 5, "the web pod's binding retries the follower for nothing")
  }
}
