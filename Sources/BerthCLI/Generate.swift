import ArgumentParser
import BerthCore
import BerthTraces
import Foundation

/// Prints the seed (drawing one when absent) after checking that `out` can take the outputs.
func startGenerating(seed: UInt64?, out: String) throws -> UInt64 {
  do { try OutputSet.checkDestination(out) } catch { throw CommandFailure(error.description) }
  let seed = seed ?? UInt64.random(in: 0..<1_000_000_000)
  print("seed=\(seed)")
  return seed
}

/// Writes a generator's files as one set (complete or absent, see `OutputSet`).
func writeGenerated(_ files: [(name: String, contents: String)], to out: String) throws {
  do { try OutputSet.write(files, to: out) } catch { throw CommandFailure(error.description) }
}

/// `berth generate`: synthetic inputs.
struct Generate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Generate synthetic inputs.",
    subcommands: [GenerateCluster.self, GenerateOpenbLike.self])
}

struct GenerateCluster: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cluster",
    abstract: "Generate a seeded synthetic cluster in Berth cluster CSV and Kubernetes YAML.",
    discussion: """
      Writes DIR/nodes.csv and DIR/pods.csv (Berth cluster CSV) and DIR/cluster.yaml (the same nodes and pods as Kubernetes objects). The same arguments and seed give identical files.

      Examples:
        berth generate cluster --nodes 1000 --pods 5000 --seed 7 --out /tmp/c1k
        berth generate cluster --nodes 15000 --pods 10000 --mix oracle \\
          --seed 1 --out /tmp/n15k
      """)

  @Option(help: "Number of nodes.") var nodes: Int
  @Option(help: "Number of pods.") var pods: Int
  @Option(help: "Seed; drawn and printed when absent.") var seed: UInt64?
  @Option(help: "Node and pod mix: oracle (the kube-scheduler oracle's shape) or mixed.") var mix:
    SyntheticCluster.Mix = .mixed
  @Option(help: "Output folder: new, empty, or one berth wrote (it is replaced as a whole).")
  var out: String

  func validate() throws {
    guard nodes >= 0, nodes <= 5_000_000 else {
      throw ValidationError("--nodes must be in 0…5000000")
    }
    guard pods >= 0, pods <= 50_000_000 else {
      throw ValidationError("--pods must be in 0…50000000")
    }
  }

  func run() throws {
    let seed = try startGenerating(seed: self.seed, out: out)
    let (n, p) = SyntheticCluster.generate(nodes: nodes, pods: pods, seed: seed, mix: mix)
    let csv = ClusterCSV.render(nodes: n, pods: p)
    try writeGenerated(
      [
        ("nodes.csv", csv.nodes), ("pods.csv", csv.pods),
        ("cluster.yaml", KubernetesYAML.render(nodes: n, pods: p)),
      ], to: out)
    print(
      "wrote \(n.count) nodes and \(p.count) pods to \(out)/nodes.csv, \(out)/pods.csv and \(out)/cluster.yaml"
    )
  }
}

extension SyntheticCluster.Mix: ExpressibleByArgument {}

struct GenerateOpenbLike: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "openb-like",
    abstract: "Generate a small synthetic GPU trace in the openb CSV format.",
    discussion: """
      Writes DIR/openb_node_list_gpu_node.csv and DIR/openb_pod_list_default.csv: GPU nodes of the real trace's shapes and models, and pods in roughly its mix (CPU-only, GPU-sharing, whole-GPU, some with a model constraint), for `berth compare` without the real trace.

      Example:
        berth generate openb-like --nodes 60 --pods 600 --seed 1 --out /tmp/gpu
      """)

  @Option(help: "Number of GPU nodes.") var nodes: Int = 60
  @Option(help: "Number of pods.") var pods: Int = 600
  @Option(help: "Seed; drawn and printed when absent.") var seed: UInt64?
  @Option(help: "Output folder: new, empty, or one berth wrote (it is replaced as a whole).")
  var out: String

  func validate() throws {
    guard nodes >= 1, nodes <= 1_000_000 else {
      throw ValidationError("--nodes must be in 1…1000000")
    }
    guard pods >= 0, pods <= 10_000_000 else {
      throw ValidationError("--pods must be in 0…10000000")
    }
  }

  func run() throws {
    let seed = try startGenerating(seed: self.seed, out: out)
    let (n, p) = OpenbLike.generate(nodes: nodes, pods: pods, seed: seed)
    let text = OpenbCSV.render(nodes: n, pods: p)
    try writeGenerated(
      [("openb_node_list_gpu_node.csv", text.nodes), ("openb_pod_list_default.csv", text.pods)],
      to: out)
    print(
      "wrote \(n.count) nodes and \(p.count) pods to \(out)/openb_node_list_gpu_node.csv and \(out)/openb_pod_list_default.csv"
    )
  }
}
