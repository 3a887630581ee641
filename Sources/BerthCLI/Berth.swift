import ArgumentParser

/// The `berth` command tree.
public struct BerthCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "berth",
    abstract: "Benchmark Kubernetes scheduling: kube-scheduler's decisions over struct-of-arrays tables.",
    discussion: """
      Examples:
        # Schedule the bundled sample cluster with the default profile
        berth schedule --cluster datasets/sample --seed 42

        # Run the smoke workloads of every bundled benchmark suite
        berth bench datasets/suites --label smoke --seed 1

        # Generate a synthetic cluster in Berth cluster CSV and Kubernetes YAML
        berth generate cluster --nodes 15000 --pods 30000 --seed 7 --out /tmp/n15k
      """,
    subcommands: [Schedule.self, Generate.self, Bench.self, Compare.self])

  public init() {}
}

/// Command types, for help rendering in tests.
public enum BerthCLI {
  public static let scheduleCommand: any ParsableCommand.Type = Schedule.self
  public static let generateClusterCommand: any ParsableCommand.Type = GenerateCluster.self
}
