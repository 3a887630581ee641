import BerthCore
import BerthScheduling
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

/// Readers reject bad input with one line naming the file, line and field.
struct YAMLTests {
  static let node = """
    apiVersion: v1
    kind: Node
    metadata:
      name: n1
      labels: {topology.kubernetes.io/zone: a}
    spec:
      taints:
      - {key: dedicated, value: "true", effect: NoSchedule}
    status:
      allocatable: {cpu: "4", memory: 16Gi, pods: "110", nvidia.com/gpu: "2"}
      images:
      - names: [nginx:1.25]
        sizeBytes: 100000000
    """

  @Test("nodes, pods, lists and multi-document files are read")
  func reads() throws {
    let pod = """
      apiVersion: v1
      kind: List
      items:
      - apiVersion: v1
        kind: Pod
        metadata: {name: p1, namespace: web, labels: {app: x}}
        spec:
          priority: 10
          nodeSelector: {topology.kubernetes.io/zone: a}
          tolerations: [{key: dedicated, operator: Exists}]
          affinity:
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms:
                - matchExpressions: [{key: cores, operator: Gt, values: ["2"]}]
              preferredDuringSchedulingIgnoredDuringExecution:
              - weight: 5
                preference: {matchExpressions: [{key: ssd, operator: Exists}]}
          initContainers:
          - {name: init, resources: {requests: {cpu: "1"}}}
          containers:
          - name: c
            image: nginx:1.25
            resources: {limits: {cpu: 500m, memory: 1Gi}}
            ports: [{containerPort: 80, hostPort: 8080}]
      """
    let m = try KubernetesYAML.parse(Self.node + "\n---\n" + pod, file: "x.yaml")
    let (nodes, pods) = (m.nodes, m.pods)
    #expect(nodes.count == 1 && pods.count == 1)
    #expect(nodes[0].allocatable.cpuMillis == 4000)
    #expect(nodes[0].allocatable.scalar("nvidia.com/gpu") == 2)
    #expect(nodes[0].taints == [Taint(key: "dedicated", value: "true", effect: .noSchedule)])
    #expect(nodes[0].labels["kubernetes.io/hostname"] == "n1")
    let p = pods[0]
    #expect(p.namespace == "web" && p.priority == 10)
    // Limits default the missing requests; the init container raises CPU to 1.
    let req = try PodRequests.effective(p)
    #expect(req.cpuMillis == 1000 && req.memoryBytes == 1 << 30)
    #expect(p.hostPorts.map(\.hostPort) == [8080])
    #expect(p.affinity?.preferred.first?.weight == 5)
  }

  @Test("scheduling fields Berth does not enforce yet are recorded, not silently dropped")
  func unenforced() throws {
    let yaml = """
      kind: Pod
      metadata: {name: p}
      spec:
        containers: [{name: c}]
        topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]
        schedulingGates: [{name: g}]
        volumes: [{name: v, persistentVolumeClaim: {claimName: data}}, {name: tmp, emptyDir: {}}]
        resourceClaims: [{name: gpu, resourceClaimName: gpu-claim}]
        hostNetwork: true
        runtimeClassName: gvisor
      """
    let pod = try KubernetesYAML.parse(yaml, file: "p.yaml").pods[0]
    #expect(
      pod.unenforced == [
        "spec.volumes (claims)", "spec.resourceClaims", "spec.hostNetwork", "spec.runtimeClassName",
      ])
    #expect(pod.schedulingGates == ["g"])
    #expect(pod.topologySpreadConstraints.count == 1)
  }

  @Test(
    "pod affinity terms and Namespace objects are read; match label keys fold into the selector")
  func podAffinity() throws {
    let yaml = """
      kind: Namespace
      metadata: {name: team-a, labels: {env: prod}}
      ---
      kind: Pod
      metadata: {name: p, namespace: team-a, labels: {app: web, rev: "2"}}
      spec:
        containers: [{name: c}]
        affinity:
          podAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: db}}
              namespaces: [data]
              topologyKey: topology.kubernetes.io/zone
          podAntiAffinity:
            preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 40
              podAffinityTerm:
                labelSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}
                namespaceSelector: {matchLabels: {env: prod}}
                topologyKey: kubernetes.io/hostname
                matchLabelKeys: [rev]
                mismatchLabelKeys: [missing]
      """
    let m = try KubernetesYAML.parse(yaml, file: "a.yaml")
    #expect(m.namespaces == [NamespaceSpec(name: "team-a", labels: ["env": "prod"])])
    let pod = m.pods[0]
    #expect(
      pod.podAffinity.required == [
        PodAffinityTerm(
          labelSelector: LabelSelector(matchLabels: ["app": "db"]), namespaces: ["data"],
          topologyKey: "topology.kubernetes.io/zone")
      ])
    let w = try #require(pod.podAntiAffinity.preferred.first)
    #expect(
      w.weight == 40 && w.term.matchLabelKeys == ["rev"]
        && w.term.namespaceSelector == LabelSelector(matchLabels: ["env": "prod"]))
    // The API server folds the keys the pod carries; `missing` is not on the pod and is dropped.
    let folded = PodConstraints(pod).podAntiAffinity.preferred[0].term
    #expect(
      folded.labelSelector?.matchExpressions == [
        .init(key: "app", operator: .in, values: ["web"]),
        .init(key: "rev", operator: .in, values: ["2"]),
      ])
    #expect(folded.matchLabelKeys.isEmpty && folded.mismatchLabelKeys.isEmpty)
    #expect(pod.unenforced.isEmpty)
  }

  @Test(
    "priority admission: a class sets priority and policy, the smallest global default fills in, explicit values stay"
  )
  func priorityClasses() throws {
    let yaml = """
      kind: PriorityClass
      metadata: {name: high}
      value: 1000
      preemptionPolicy: Never
      ---
      kind: PriorityClass
      metadata: {name: low-default}
      value: 10
      globalDefault: true
      ---
      kind: PriorityClass
      metadata: {name: other-default}
      value: 20
      globalDefault: true
      ---
      kind: Pod
      metadata: {name: a}
      spec: {priorityClassName: high, containers: [{name: c}]}
      ---
      kind: Pod
      metadata: {name: b}
      spec: {containers: [{name: c}]}
      ---
      kind: Pod
      metadata: {name: c}
      spec: {priority: 7, containers: [{name: c}]}
      ---
      kind: Pod
      metadata: {name: d}
      spec: {priorityClassName: system-node-critical, containers: [{name: c}]}
      """
    let pods = try KubernetesYAML.parse(yaml, file: "p.yaml").pods
    #expect(pods.map(\.priority) == [1000, 10, 7, 2_000_001_000])
    #expect(pods.map(\.preemptLowerPriority) == [false, true, true, true])
    #expect(pods[1].priorityClassName == "low-default")
  }

  @Test(
    "PodDisruptionBudgets: parsed, and disruptionsAllowed as the disruption controller computes it")
  func disruptionBudgets() throws {
    let yaml = """
      kind: PodDisruptionBudget
      metadata: {name: web, namespace: shop}
      spec: {minAvailable: 50%, selector: {matchLabels: {app: web}}}
      """
    let b = try #require(try KubernetesYAML.parse(yaml, file: "b.yaml").disruptionBudgets.first)
    #expect(
      b.namespace == "shop" && b.minAvailable == .percent(50)
        && b.selector == LabelSelector(matchLabels: ["app": "web"]))
    // 5 expected: 50 % rounds up to 3 desired; 4 healthy → 1 allowed; 3 healthy → already at zero.
    #expect(b.disruptionsAllowed(expected: 5, healthy: 4) == 1)
    #expect(b.disruptionsAllowed(expected: 5, healthy: 3) == 0)
    #expect(
      PodDisruptionBudgetSpec(name: "u", selector: nil, maxUnavailable: .int(2)).disruptionsAllowed(
        expected: 4, healthy: 4) == 2)
    #expect(
      PodDisruptionBudgetSpec(name: "u", selector: nil, maxUnavailable: .percent(10))
        .disruptionsAllowed(expected: 4, healthy: 4) == 1)
    #expect(
      PodDisruptionBudgetSpec(name: "m", selector: nil, minAvailable: .int(3)).disruptionsAllowed(
        expected: 0, healthy: 0) == 0)
  }

  @Test("pods learn the merged selector of the Services and controlling workload that select them")
  func defaultSpreadSelectors() throws {
    let yaml = """
      kind: Service
      metadata: {name: web}
      spec: {selector: {app: web}}
      ---
      kind: Service
      metadata: {name: headless}
      spec: {clusterIP: None}
      ---
      kind: Service
      metadata: {name: other-namespace, namespace: prod}
      spec: {selector: {tier: front}}
      ---
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: web-1}
      spec: {selector: {matchLabels: {hash: h1}, matchExpressions: [{key: tier, operator: In, values: [front]}]}}
      ---
      apiVersion: v1
      kind: ReplicationController
      metadata: {name: rc}
      spec: {template: {metadata: {labels: {legacy: "yes"}}}}
      ---
      kind: Pod
      metadata:
        name: a
        labels: {app: web, hash: h1, tier: front}
        ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, controller: true}]
      spec: {containers: [{name: c}]}
      ---
      kind: Pod
      metadata: {name: b, labels: {app: db}}
      spec: {containers: [{name: c}]}
      ---
      kind: Pod
      metadata:
        name: c
        labels: {legacy: "yes"}
        ownerReferences: [{apiVersion: v1, kind: ReplicationController, name: rc, controller: true}]
      spec: {containers: [{name: c}]}
      ---
      kind: Pod
      metadata:
        name: d
        labels: {app: db, tier: front}
        ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-1}]
      spec: {containers: [{name: c}]}
      """
    let pods = try KubernetesYAML.parse(yaml, file: "w.yaml").pods
    #expect(
      pods[0].defaultSpreadSelector
        == LabelSelector(
          matchLabels: ["app": "web", "hash": "h1"],
          matchExpressions: [.init(key: "tier", operator: .in, values: ["front"])]))
    // Nothing selects b; the headless Service has no selector and the prod one another namespace.
    #expect(pods[1].defaultSpreadSelector == nil)
    // A ReplicationController without a selector uses its template's labels.
    #expect(pods[2].defaultSpreadSelector == LabelSelector(matchLabels: ["legacy": "yes"]))
    // Only a controlling owner reference counts.
    #expect(pods[3].defaultSpreadSelector == nil)
  }

  @Test("Services in one file select pods in another when a directory is read")
  func defaultSelectorAcrossFiles() throws {
    let dir = InputFixtures.scratch("berth-yaml").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "kind: Pod\nmetadata: {name: p, labels: {app: web}}\nspec: {containers: [{name: c}]}\n"
      .write(
        toFile: dir + "/a-pods.yaml", atomically: true, encoding: .utf8)
    try "kind: Service\nmetadata: {name: s}\nspec: {selector: {app: web}}\n".write(
      toFile: dir + "/b-services.yaml", atomically: true, encoding: .utf8)
    let pods = try KubernetesYAML.read(path: dir).pods
    #expect(pods.map(\.defaultSpreadSelector) == [LabelSelector(matchLabels: ["app": "web"])])
  }

  @Test(
    "malformed fields name the file, line and field",
    arguments: [
      (
        "kind: Node\nmetadata: {name: n}\nstatus: {allocatable: {cpu: lots}}",
        "x.yaml:3: status.allocatable.cpu: quantity \"lots\" is not a number with an optional suffix"
      ),
      (
        "kind: Node\nmetadata: {name: n}\nstatus: {allocatable: {cpu: -1}}",
        "x.yaml:3: status.allocatable.cpu: quantity \"-1\" is negative"
      ),
      (
        "kind: Node\nmetadata: {name: n}\n",
        "x.yaml:1: node n has neither status.allocatable nor status.capacity"
      ),
      (
        "kind: Deployment\nmetadata: {name: d}",
        "x.yaml:1: kind: unsupported kind \"Deployment\" (expected Node, Pod, Namespace, PriorityClass, PodDisruptionBudget, Service, ReplicationController, ReplicaSet, StatefulSet or List)"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: []",
        "x.yaml:4: spec: pod p needs at least one container"
      ),
      (
        "kind: ReplicaSet\napiVersion: apps/v1\nmetadata: {name: r}\nspec: {replicas: 2}",
        "x.yaml:4: spec: ReplicaSet r needs spec.selector"
      ),
      (
        "kind: StatefulSet\napiVersion: v1\nmetadata: {name: s}\nspec: {}",
        "x.yaml:2: apiVersion: StatefulSet s needs apiVersion apps/v1"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  tolerations: [{key: k, operator: Maybe}]",
        "x.yaml:5: spec.tolerations[0].operator: expected Equal or Exists"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: k, operator: Gt, values: [a]}]}]}}}",
        "x.yaml:5: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]: Gt needs exactly one integer value"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, resources: {requests: {memory: 1Qi}}}]",
        "x.yaml:4: spec.containers[0].resources.requests.memory: quantity \"1Qi\" has unknown suffix \"Qi\" (expected Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E or an exponent like e3)"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}], priority: high}",
        "x.yaml:3: spec.priority: expected an integer, found \"high\""
      ),
      (
        "kind: [",
        "x.yaml:2: invalid YAML: did not find expected node content (while parsing a flow node) at column 1"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  affinity: {podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {}}]}}",
        "x.yaml:5: spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]: a pod affinity term needs a topologyKey"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  affinity: {podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 0, podAffinityTerm: {topologyKey: z}}]}}",
        "x.yaml:5: spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: weight must be in 1…100"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  affinity: {podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: z, matchLabelKeys: [app]}]}}",
        "x.yaml:5: spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]: matchLabelKeys and mismatchLabelKeys need a labelSelector"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  affinity: {podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: z, labelSelector: {}, matchLabelKeys: [app], mismatchLabelKeys: [app]}]}}",
        "x.yaml:5: spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].mismatchLabelKeys: key \"app\" is in both matchLabelKeys and mismatchLabelKeys"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  affinity: {podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: z, namespace: [a]}]}}",
        "x.yaml:5: spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespace: unknown field \"namespace\" (not in the Kubernetes API; check its spelling and indentation)"
      ),
      (
        "kind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata: {name: a}",
        "x.yaml:4: duplicate Namespace a"
      ),
      (
        "kind: Pod\nmetadata: {name: p}\nspec: {priorityClassName: gold, containers: [{name: c}]}",
        "x.yaml:3: spec.priorityClassName: no PriorityClass with name gold was found"
      ),
      (
        "kind: PriorityClass\nmetadata: {name: g}\nvalue: 5\n---\nkind: Pod\nmetadata: {name: p}\nspec: {priorityClassName: g, priority: 6, containers: [{name: c}]}",
        "x.yaml:7: spec.priority: must not differ from the value 5 of PriorityClass g"
      ),
      (
        "kind: PodDisruptionBudget\nmetadata: {name: b}\nspec: {minAvailable: 1, maxUnavailable: 1}",
        "x.yaml:3: spec: minAvailable and maxUnavailable cannot both be set"
      ),
      (
        "kind: PodDisruptionBudget\nmetadata: {name: b}\nspec: {minAvailable: 120%}",
        "x.yaml:3: spec.minAvailable: expected a non-negative integer or a percentage 0%…100%"
      ),
    ])
  func errors(yaml: String, message: String) {
    #expect { try KubernetesYAML.parse(yaml, file: "x.yaml") } throws: {
      ($0 as? InputError)?.description == message
    }
  }
}

struct CSVTests {
  static func dir(nodes: String, pods: String) throws -> String {
    let d = InputFixtures.scratch("berth-csv").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    try nodes.write(toFile: d + "/nodes.csv", atomically: true, encoding: .utf8)
    try pods.write(toFile: d + "/pods.csv", atomically: true, encoding: .utf8)
    return d
  }

  static let nodes =
    "name,cpu_milli,mem_bytes,max_pods,zone,node_type,taint\nn1,4000,1000,110,a,compute,dedicated=true:NoSchedule\n"
  static let pods = "name,cpu_milli,mem_bytes,zone_selector,tolerates\np1,100,10,a,1\n"

  @Test("cluster CSV reads labels, taints, selectors and tolerations")
  func reads() throws {
    let (nodes, pods) = try ClusterCSV.read(
      directory: try Self.dir(nodes: Self.nodes, pods: Self.pods))
    #expect(
      nodes[0].labels == [
        "kubernetes.io/hostname": "n1", "topology.kubernetes.io/zone": "a", "node-type": "compute",
      ])
    #expect(nodes[0].taints == [Taint(key: "dedicated", value: "true", effect: .noSchedule)])
    #expect(pods[0].nodeSelector == ["topology.kubernetes.io/zone": "a"])
    #expect(pods[0].tolerations.tolerate(nodes[0].taints[0]))
  }

  @Test(
    "bad rows name the file, line and field",
    arguments: [
      (
        nodes + "n2,lots,1,1,a,b,\n", pods,
        "nodes.csv:3: cpu_milli: expected an integer, found \"lots\""
      ),
      (
        nodes + "n2,-5,1,1,a,b,\n", pods,
        "nodes.csv:3: cpu_milli: expected an integer ≥ 0, found -5"
      ),
      (
        nodes + "n2,1,1,1,a,b,weird\n", pods,
        "nodes.csv:3: taint: expected key=value:Effect (NoSchedule, PreferNoSchedule or NoExecute), found \"weird\""
      ),
      (nodes + "n1,1,1,1,a,b,\n", pods, "nodes.csv:3: name: duplicate node \"n1\""),
      (nodes + "n2,1,1\n", pods, "nodes.csv:3: expected 7 fields, found 3"),
      (
        "name,cpu\n", pods,
        "nodes.csv:1: header must be name,cpu_milli,mem_bytes,max_pods,zone,node_type,taint"
      ),
      (nodes, pods + "p2,1,1,,2\n", "pods.csv:3: tolerates: expected 0 or 1, found \"2\""),
    ])
  func errors(nodes: String, pods: String, suffix: String) throws {
    let d = try Self.dir(nodes: nodes, pods: pods)
    #expect { try ClusterCSV.read(directory: d) } throws: {
      ($0 as? InputError)?.description == d + "/" + suffix
    }
  }

  @Test("a missing directory is a clear error")
  func missing() {
    #expect { try ClusterLoader.load("/nonexistent/berth") } throws: {
      ($0 as? InputError)?.description == "/nonexistent/berth: no such file or directory"
    }
  }

  @Test("generated clusters are the same in CSV and YAML, and the same for the same seed")
  func generated() throws {
    let a = SyntheticCluster.generate(nodes: 50, pods: 200, seed: 3, mix: .mixed)
    let b = SyntheticCluster.generate(nodes: 50, pods: 200, seed: 3, mix: .mixed)
    #expect(a.nodes == b.nodes && a.pods == b.pods)
    let d = InputFixtures.scratch("berth-gen").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    try ClusterCSV.write(nodes: a.nodes, pods: a.pods, directory: d)
    let csv = try ClusterCSV.read(directory: d)
    let yaml = try KubernetesYAML.parse(
      KubernetesYAML.render(nodes: a.nodes, pods: a.pods), file: "g.yaml")
    #expect(csv.nodes == yaml.nodes)
    #expect(
      try csv.pods.map { try PodRequests.effective($0) }
        == yaml.pods.map { try PodRequests.effective($0) })
    #expect(csv.pods.map(\.nodeSelector) == yaml.pods.map(\.nodeSelector))
  }
}

struct ConfigurationTests {
  static func parse(_ body: String) throws -> [Profile] {
    let config = try SchedulerConfigurationYAML.parse(
      "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n" + body,
      file: "c.yaml")
    return try Profile.resolve(config)
  }

  @Test("weights, disabled plugins, multiPoint and plugin arguments resolve as upstream")
  func resolves() throws {
    let p = try Self.parse(
      """
      percentageOfNodesToScore: 30
      profiles:
      - schedulerName: default-scheduler
        plugins:
          score:
            disabled: [{name: ImageLocality}]
            enabled: [{name: NodeResourcesFit, weight: 5}]
          filter:
            disabled: [{name: NodePorts}]
        pluginConfig:
        - name: NodeResourcesFit
          args:
            scoringStrategy:
              type: RequestedToCapacityRatio
              resources: [{name: cpu, weight: 2}, {name: memory, weight: 1}]
              requestedToCapacityRatio:
                shape: [{utilization: 0, score: 0}, {utilization: 100, score: 10}]
      """)[0]
    #expect(p.percentageOfNodesToScore == 30)
    #expect(!p.scores.contains { $0.name == .imageLocality })
    #expect(p.scores.first { $0.name == .nodeResourcesFit }?.weight == 5)
    // An explicitly configured default plugin keeps its place at the front.
    #expect(p.scores.first?.name == .nodeResourcesFit)
    #expect(!p.filters.contains(.nodePorts))
    #expect(p.arguments[NodeResourcesFitArguments.self].strategy == .requestedToCapacityRatio)
    let star = try Self.parse(
      "profiles:\n- plugins:\n    score:\n      disabled: [{name: '*'}]\n      enabled: [{name: NodeResourcesBalancedAllocation}]"
    )[0]
    #expect(star.scores.map(\.name) == [.nodeResourcesBalancedAllocation])
  }

  @Test("a profile of the GPU-sharing plugins, with FGD's typical pods, reads and resolves")
  func gpuSharingProfile() throws {
    let p = try Self.parse(
      """
      profiles:
      - schedulerName: fgd
        percentageOfNodesToScore: 100
        plugins:
          filter:
            enabled: [{name: GPUShare}]
          score:
            disabled: [{name: '*'}]
            enabled: [{name: FGDScore}]
        pluginConfig:
        - name: FGDScore
          args:
            typicalPods:
            - {cpuMillis: 4000, milli: 500, gpuCount: 1, probability: 60}
            - {cpuMillis: 8000, milli: 1000, gpuCount: 2, models: "V100M16|V100M32", probability: 40}
      """)[0]
    #expect(p.filters.last == .gpuShare)
    #expect(p.scores.map(\.name) == [.fgdScore])
    let typical = p.arguments[FGDArguments.self].typicalPods
    #expect(typical.map(\.probability) == [0.6, 0.4])
    #expect(typical[1].models == "V100M16|V100M32" && typical[1].gpuCount == 2)
    // The policies' own profiles say the same as such a file.
    #expect(GPUPolicy.fgd.profile(typicalPods: typical).scores.map(\.name) == [.fgdScore])
    #expect(
      GPUPolicy.fgd.profile(typicalPods: typical).arguments[FGDArguments.self].typicalPods
        == typical)
  }

  @Test(
    "configuration errors name the field",
    arguments: [
      (
        "profiles:\n- plugins:\n    score:\n      enabled: [{name: NoSuchPlugin}]",
        "c.yaml:6: profiles[0].plugins.score.enabled[0].name: unknown plugin \"NoSuchPlugin\""
      ),
      (
        "profiles:\n- pluginConfig:\n  - name: FGDScore\n    args: {typicalPods: [{milli: 2000, probability: 10}]}",
        "c.yaml:6: profiles[0].pluginConfig[0].args.typicalPods[0]: expected cpuMillis ≥ 0, milli 0…1000, gpuCount 0…8, probability > 0"
      ),
      (
        "profiles:\n- plugins:\n    scoring: {}",
        "c.yaml:5: profiles[0].plugins.scoring: unknown extension point (expected one of preEnqueue, queueSort, preFilter, filter, postFilter, preScore, score, reserve, permit, preBind, bind, postBind, multiPoint)"
      ),
      (
        "profiles:\n- plugins:\n    score:\n      enabled: [{name: NodeName}]",
        "c.yaml:6: profiles[0].plugins.score.enabled[0]: plugin \"NodeName\" does not extend score"
      ),
      (
        "percentageOfNodesToScore: 120",
        "c.yaml:3: percentageOfNodesToScore: 120 is not in [0, 100]"
      ),
      (
        "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: Fancy}}",
        "c.yaml:6: profiles[0].pluginConfig[0].args.scoringStrategy.type: expected LeastAllocated, MostAllocated or RequestedToCapacityRatio"
      ),
      (
        "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {colour: blue}",
        "c.yaml:6: profiles[0].pluginConfig[0].args.colour: unknown field (expected one of apiVersion, ignoredResourceGroups, ignoredResources, kind, scoringStrategy)"
      ),
      (
        "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {resources: [{name: cpu, weight: 0}]}}",
        "c.yaml:6: profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight: 0 is not in [1, 100]"
      ),
      (
        "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: RequestedToCapacityRatio}}",
        "c.yaml:6: profiles[0].pluginConfig[0].args.scoringStrategy.requestedToCapacityRatio.shape: at least one point is required"
      ),
      (
        "profiles:\n- pluginConfig:\n  - name: NodeResourcesBalancedAllocation\n    args: {resources: [{name: cpu, weight: 2}]}",
        "c.yaml:6: profiles[0].pluginConfig[0].args.resources[0].weight: 2 must be 1"
      ),
      (
        "profiles:\n- pluginConfig:\n  - name: TaintToleration\n    args: {}",
        "c.yaml:5: profiles[0].pluginConfig[0].name: Berth does not support arguments for TaintToleration yet"
      ),
      (
        "colour: blue",
        "c.yaml:3: colour: unknown field (expected one of apiVersion, clientConnection, debuggingConfiguration, delayCacheUntilActive, extenders, healthzBindAddress, kind, leaderElection, metricsBindAddress, parallelism, percentageOfNodesToScore, podInitialBackoffSeconds, podMaxBackoffSeconds, profiles)"
      ),
    ])
  func errors(body: String, message: String) {
    #expect { try Self.parse(body) } throws: { ($0 as? InputError)?.description == message }
  }

  @Test("wrong apiVersion is rejected")
  func apiVersion() {
    #expect {
      try SchedulerConfigurationYAML.parse(
        "apiVersion: v2\nkind: KubeSchedulerConfiguration", file: "c.yaml")
    } throws: {
      ($0 as? InputError)?.description
        == "c.yaml:1: apiVersion: apiVersion must be kubescheduler.config.k8s.io/v1"
    }
  }
}
