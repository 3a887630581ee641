import BerthCore

/// Seeded synthetic clusters for benchmarks and samples.
///
/// Two mixes:
/// - `oracle`: the shape of the kube-scheduler oracle's inputs — every node 32 CPU, 128 GiB,
///   110 pods, zones a–c and node types compute/memory/general at random, 10 % tainted
///   `dedicated=true:NoSchedule`; pods request 100–4000m CPU and 128 MiB–8 GiB (uniform),
///   20 % select a zone, about 10 % tolerate the taint.
/// - `mixed`: five node shapes from 4 CPU / 16 GiB to 64 CPU / 512 GiB / 250 pods, four zones,
///   three node types, 8 % `dedicated=true:NoSchedule` and 5 % `spot=true:PreferNoSchedule`;
///   pods from a skewed menu of sizes, 15 % with a zone selector, 10 % tolerating every taint.
/// Same arguments and seed → identical cluster.
public enum SyntheticCluster {
  public enum Mix: String, CaseIterable, Sendable {
    case oracle, mixed
  }

  static let gib: Int64 = 1 << 30
  static let mib: Int64 = 1 << 20

  public static func generate(nodes nodeCount: Int, pods podCount: Int, seed: UInt64, mix: Mix) -> (
    nodes: [NodeSpec], pods: [PodSpec]
  ) {
    let root = SplitMix64(seed: seed)
    var nodeRNG = root.split(label: "generate.nodes")
    var podRNG = root.split(label: "generate.pods")
    let width = max(5, String(max(nodeCount, podCount) - 1).count)
    func pad(_ i: Int) -> String {
      let s = String(i)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    let zones =
      mix == .oracle ? ["zone-a", "zone-b", "zone-c"] : ["zone-a", "zone-b", "zone-c", "zone-d"]
    let types = ["compute", "memory", "general"]
    let dedicated = Taint(key: "dedicated", value: "true", effect: .noSchedule)
    let spot = Taint(key: "spot", value: "true", effect: .preferNoSchedule)
    let shapes: [(cpu: Int64, mem: Int64, pods: Int64, weight: Int)] =
      mix == .oracle
      ? [(32_000, 128 * gib, 110, 1)]
      : [
        (4_000, 16 * gib, 110, 30), (8_000, 32 * gib, 110, 30), (16_000, 64 * gib, 110, 20),
        (32_000, 128 * gib, 110, 15),
        (64_000, 512 * gib, 250, 5),
      ]
    let shapeTotal = shapes.map(\.weight).reduce(0, +)

    var nodes: [NodeSpec] = []
    nodes.reserveCapacity(nodeCount)
    for i in 0..<nodeCount {
      let name = "node-" + pad(i)
      var pick = nodeRNG.nextInt(below: shapeTotal)
      var shape = shapes[0]
      for s in shapes {
        if pick < s.weight {
          shape = s
          break
        }
        pick -= s.weight
      }
      let zone = zones[nodeRNG.nextInt(below: zones.count)]
      let type = types[nodeRNG.nextInt(below: types.count)]
      var taints: [Taint] = []
      let roll = nodeRNG.nextInt(below: 100)
      if mix == .oracle {
        if roll < 10 { taints.append(dedicated) }
      } else if roll < 8 {
        taints.append(dedicated)
      } else if roll < 13 {
        taints.append(spot)
      }
      nodes.append(
        NodeSpec(
          name: name,
          labels: [
            "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone, "node-type": type,
          ],
          taints: taints,
          allocatable: ResourceAmounts(
            cpuMillis: shape.cpu, memoryBytes: shape.mem, pods: shape.pods)))
    }

    let allTaints = mix == .oracle ? [dedicated] : [dedicated, spot]
    let tolerations = allTaints.map {
      Toleration(key: $0.key, operator: .equal, value: $0.value, effect: $0.effect)
    }
    let cpuMenu: [Int64] = [100, 250, 500, 500, 1000, 1000, 2000, 4000]
    let memMenu: [Int64] = [
      128 * mib, 256 * mib, 512 * mib, 1 * gib, 1 * gib, 2 * gib, 4 * gib, 8 * gib,
    ]
    var pods: [PodSpec] = []
    pods.reserveCapacity(podCount)
    for i in 0..<podCount {
      let cpu: Int64
      let mem: Int64
      var selector: [String: String] = [:]
      var tolerates = false
      if mix == .oracle {
        cpu = 100 + Int64(podRNG.nextInt(below: 3901))
        mem = (128 + Int64(podRNG.nextInt(below: 8192 - 128 + 1))) * mib
        if podRNG.nextInt(below: 100) < 20 {
          selector["topology.kubernetes.io/zone"] = zones[podRNG.nextInt(below: zones.count)]
        }
        tolerates = podRNG.nextInt(below: 100) < 10
      } else {
        cpu = cpuMenu[podRNG.nextInt(below: cpuMenu.count)]
        mem = memMenu[podRNG.nextInt(below: memMenu.count)]
        if podRNG.nextInt(below: 100) < 15 {
          selector["topology.kubernetes.io/zone"] = zones[podRNG.nextInt(below: zones.count)]
        }
        tolerates = podRNG.nextInt(below: 100) < 10
      }
      let requests = ResourceList([
        (ResourceName.cpu, Quantity(milli: cpu)), (ResourceName.memory, Quantity(integer: mem)),
      ])
      pods.append(
        PodSpec(
          name: "pod-" + pad(i),
          containers: [
            Container(name: "main", image: "registry.example/app:1.0", requests: requests)
          ],
          nodeSelector: selector, tolerations: tolerates ? tolerations : []))
    }
    return (nodes, pods)
  }
}

extension KubernetesYAML {
  /// Nodes then pods as a multi-document YAML stream (only the fields Berth models).
  public static func render(nodes: [NodeSpec], pods: [PodSpec]) -> String {
    var out = ""
    func q(_ s: String) -> String {
      "\""
        + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
          of: "\"", with: "\\\"") + "\""
    }
    for n in nodes {
      out += "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: \(q(n.name))\n  labels:\n"
      for (k, v) in n.labels.sorted(by: { $0.key < $1.key }) { out += "    \(q(k)): \(q(v))\n" }
      if n.unschedulable || !n.taints.isEmpty {
        out += "spec:\n"
        if n.unschedulable { out += "  unschedulable: true\n" }
        if !n.taints.isEmpty {
          out += "  taints:\n"
          for t in n.taints {
            out += "  - {key: \(q(t.key)), value: \(q(t.value)), effect: \(t.effect.rawValue)}\n"
          }
        }
      }
      let a = n.allocatable
      out +=
        "status:\n  allocatable:\n    cpu: \(a.cpuMillis)m\n    memory: \"\(a.memoryBytes)\"\n    pods: \"\(a.pods)\"\n"
      if a.ephemeralStorageBytes > 0 {
        out += "    ephemeral-storage: \"\(a.ephemeralStorageBytes)\"\n"
      }
      for s in a.scalars { out += "    \(q(s.name)): \"\(s.amount)\"\n" }
    }
    for p in pods {
      out +=
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \(q(p.name))\n  namespace: \(q(p.namespace))\nspec:\n"
      if p.priority != 0 { out += "  priority: \(p.priority)\n" }
      if !p.nodeSelector.isEmpty {
        out += "  nodeSelector:\n"
        for (k, v) in p.nodeSelector.sorted(by: { $0.key < $1.key }) {
          out += "    \(q(k)): \(q(v))\n"
        }
      }
      if !p.tolerations.isEmpty {
        out += "  tolerations:\n"
        for t in p.tolerations {
          out += "  - {key: \(q(t.key)), operator: \(t.operator.rawValue), value: \(q(t.value))"
          if let e = t.effect { out += ", effect: \(e.rawValue)" }
          out += "}\n"
        }
      }
      out += "  containers:\n"
      for c in p.containers {
        out += "  - name: \(q(c.name))\n"
        if !c.image.isEmpty { out += "    image: \(q(c.image))\n" }
        if !c.requests.isEmpty {
          out += "    resources:\n      requests:\n"
          for (name, quantity) in c.requests.entries {
            out += "        \(q(name)): \(q(quantity.description))\n"
          }
        }
      }
    }
    return out
  }
}
