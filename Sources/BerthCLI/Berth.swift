import ArgumentParser

/// The `berth` command tree.
public struct BerthCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "berth",
    abstract:
      "Benchmark Kubernetes scheduling: kube-scheduler's decisions over struct-of-arrays tables, and GPU-sharing policy studies.",
    discussion: """
      Examples:
        # Schedule the bundled sample cluster with the default profile
        berth schedule --cluster datasets/sample --seed 42

        # Run the smoke workloads of every bundled benchmark suite
        berth bench datasets/suites --label smoke --seed 1

        # Compare the FGD paper's GPU-sharing policies on the bundled trace
        berth compare \\
          --nodes datasets/openb-like/openb_node_list_gpu_node.csv \\
          --pods datasets/openb-like/openb_pod_list_default.csv \\
          --seeds 1-5 --out /tmp/gpu

        # Generate a synthetic cluster in Berth cluster CSV and Kubernetes YAML
        berth generate cluster --nodes 15000 --pods 30000 --seed 7 --out /tmp/n15k
      """,
    version: "berth \(BerthVersion.current)",
    subcommands: [
      Schedule.self, Simulate.self, Generate.self, Bench.self, Compare.self, HPA.self,
      Autoscale.self, VPA.self, Sweep.self,
    ])

  public init() {}
}

/// Command types, for help rendering in tests.
public enum BerthCLI {
  public static let scheduleCommand: any ParsableCommand.Type = Schedule.self
  public static let generateClusterCommand: any ParsableCommand.Type = GenerateCluster.self
  /// Every command with the words that invoke it, for golden `--help` tests.
  public static let allCommands: [(path: String, type: any ParsableCommand.Type)] = [
    ("berth", BerthCommand.self), ("schedule", Schedule.self), ("simulate", Simulate.self),
    ("generate", Generate.self),
    ("generate cluster", GenerateCluster.self), ("generate openb-like", GenerateOpenbLike.self),
    ("bench", Bench.self),
    ("bench run", BenchRun.self), ("bench compare", BenchCompare.self), ("bench ab", BenchAB.self),
    ("compare", Compare.self), ("hpa", HPA.self), ("hpa explain", HPAExplain.self),
    ("autoscale", Autoscale.self), ("autoscale compare", AutoscaleCompare.self),
    ("vpa", VPA.self), ("vpa recommend", VPARecommend.self), ("sweep", Sweep.self),
    ("sweep run", SweepRun.self), ("sweep merge", SweepMerge.self), ("sweep job", SweepJob.self),
  ]
}

extension BerthCLI {
  /// What `berth vpa recommend ARGS…` prints, for tests.
  public static func vpaRecommendReport(_ args: [String]) throws -> String {
    try VPARecommend.parse(args).report()
  }

  /// What `berth sweep job ARGS…` prints, for tests.
  public static func sweepJobManifests(_ args: [String]) throws -> String {
    let job = try SweepJob.parse(args)
    return try job.manifests()
  }

  /// What `berth hpa explain ARGS…` prints, for tests.
  public static func hpaExplainReport(_ args: [String]) throws -> String {
    try HPAExplain.parse(args).report()
  }
}

/// Berth's release version, printed by `berth --version` and recorded in reports.
public enum BerthVersion {
  public static let current = "0.10.0-dev"
  /// The source commit of this build (`unknown` outside a git checkout; `+dirty` with
  /// uncommitted changes), recorded by the BuildInfo plugin.
  public static let commit = BerthBuild.commit
}
