import BerthCore

/// A small synthetic trace in the openb CSV format, for trying `berth compare` without the real
/// trace: GPU nodes of the trace's shapes and models, and pods in roughly the trace's mix —
/// about 13 % CPU-only, 38 % GPU-sharing (100–900 milli), the rest whole GPUs (mostly one, a few
/// 2, 4 or 8), a fifth of GPU pods constrained to a model. Same arguments and seed → same files.
public enum OpenbLike {
  public static func generate(nodes nodeCount: Int, pods podCount: Int, seed: UInt64) -> (
    nodes: [NodeSpec], pods: [PodSpec]
  ) {
    let root = SplitMix64(seed: seed)
    var nr = root.split(label: "openb-like.nodes")
    var pr = root.split(label: "openb-like.pods")
    // (GPUs, model, CPU milli, memory MiB, weight) after the trace's node mix.
    let shapes: [(Int, String, Int64, Int64, Int)] = [
      (8, "G2", 96_000, 786_432, 45), (2, "T4", 64_000, 262_144, 30),
      (2, "P100", 64_000, 262_144, 10),
      (4, "V100M16", 96_000, 393_216, 5), (8, "V100M32", 96_000, 786_432, 5),
      (1, "A10", 32_000, 131_072, 5),
    ]
    let total = shapes.map(\.4).reduce(0, +)
    let width = max(4, String(max(nodeCount, podCount) - 1).count)
    func pad(_ i: Int) -> String {
      String(repeating: "0", count: max(0, width - String(i).count)) + String(i)
    }
    var nodes: [NodeSpec] = []
    for i in 0..<nodeCount {
      var pick = nr.nextInt(below: total)
      var shape = shapes[0]
      for s in shapes {
        if pick < s.4 {
          shape = s
          break
        }
        pick -= s.4
      }
      let name = "openb-node-" + pad(i)
      nodes.append(
        NodeSpec(
          name: name, labels: ["kubernetes.io/hostname": name, OpenbCSV.modelLabel: shape.1],
          allocatable: ResourceAmounts(
            cpuMillis: shape.2, memoryBytes: shape.3 << 20, pods: OpenbCSV.maxPods),
          gpus: NodeGPUs(count: shape.0, model: shape.1)))
    }
    let models = ["T4", "G2", "P100", "V100M16|V100M32"]
    var pods: [PodSpec] = []
    for i in 0..<podCount {
      let roll = pr.nextInt(below: 1000)
      var gpu: GPURequest?
      if roll >= 130 {
        if roll < 510 {
          gpu = GPURequest(count: 1, milliPerGPU: 100 * (1 + pr.nextInt(below: 9)))
        } else {
          let r = pr.nextInt(below: 100)
          gpu = GPURequest(count: r < 90 ? 1 : r < 95 ? 2 : r < 98 ? 4 : 8, milliPerGPU: 1000)
        }
        if pr.nextInt(below: 5) == 0 {
          gpu?.models = models[pr.nextInt(below: models.count)].split(separator: "|").map(
            String.init)
        }
      }
      let cpu = Int64([1000, 2000, 4000, 6000, 8000, 12000, 16000][pr.nextInt(below: 7)])
      let mem = Int64([2048, 4096, 8192, 12288, 16384, 32768][pr.nextInt(below: 6)])
      let requests = ResourceList([
        (ResourceName.cpu, Quantity(milli: cpu)),
        (ResourceName.memory, Quantity(integer: mem << 20)),
      ])
      pods.append(
        PodSpec(
          name: "openb-pod-" + pad(i),
          containers: [Container(name: "main", requests: requests, limits: requests)], gpu: gpu))
    }
    return (nodes, pods)
  }
}

extension OpenbCSV {
  /// Writes nodes and pods in the openb formats (pods with the full 11 columns; the time and
  /// phase columns get neutral values).
  public static func write(nodes: [NodeSpec], pods: [PodSpec], nodesPath: String, podsPath: String)
    throws(InputError)
  {
    let (n, p) = render(nodes: nodes, pods: pods)
    try AtomicFile.write(n, to: nodesPath)
    try AtomicFile.write(p, to: podsPath)
  }

  /// The node and pod lists' text, as `write` writes them.
  public static func render(nodes: [NodeSpec], pods: [PodSpec]) -> (nodes: String, pods: String) {
    var n = nodeHeader.joined(separator: ",") + "\n"
    for node in nodes {
      n +=
        "\(node.name),\(node.allocatable.cpuMillis),\(node.allocatable.memoryBytes >> 20),\(node.gpus?.count ?? 0),\(node.gpus?.model ?? "")\n"
    }
    var p = podHeaderLong.joined(separator: ",") + "\n"
    for pod in pods {
      let req = (try? PodRequests.effective(pod)) ?? ResourceAmounts()
      let g = pod.gpu
      p +=
        "\(pod.name),\(req.cpuMillis),\(req.memoryBytes >> 20),\(g?.count ?? 0),\(g?.milliPerGPU ?? 0),\(g?.models.joined(separator: "|") ?? ""),LS,Running,0,0,0\n"
    }
    return (n, p)
  }
}
