import ArgumentParser
import BerthCore
import BerthSimulation
import BerthTraces
import Foundation

/// `berth autoscale`: autoscaler settings compared on the same load.
struct Autoscale: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "autoscale",
    abstract: "Compare autoscaler settings on the same scenario, load and seeds.",
    discussion: """
      Examples:
        berth autoscale compare datasets/scenarios/hpa-flapping.yaml \\
          --variant window-60s=datasets/scenarios/variants/window-60s.yaml \\
          --variant window-600s=datasets/scenarios/variants/window-600s.yaml
      """,
    subcommands: [AutoscaleCompare.self])
}

/// `berth autoscale compare`: one scenario, several variants, paired seeds.
struct AutoscaleCompare: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Run a scenario once per variant and seed; compare how each served its load.",
    discussion: """
      SCENARIO is a `berth simulate` scenario with a load, usage and autoscalers. Each --variant NAME=PATCH runs it with PATCH applied (a YAML file of objects merged into the scenario's: an HPA's targets or behavior, the Scenario's settings; `$patch: delete` removes an object, an object the scenario lacks is added; PATCH `none` removes every HorizontalPodAutoscaler); the scenario as written runs as `baseline` unless --no-baseline. Every variant runs every seed (paired), on both cores.

      Prints one table — per metric the mean and a 95 % interval over seeds, and with several seeds each variant's paired difference from the first — and with --out writes comparison.csv (one row per run), comparison.json and report.html (the variants overlaid over time). Metrics: SLO violation time, dropped and late requests, p99 latency, under- and over-provisioned core-seconds (SPEC RG's elasticity areas), replica-hours, requested core-hours, scale events and direction changes, time short after a rise of the load, OOM kills, evictions, pod pending time (docs/autoscaling.md).

      Examples:
        berth autoscale compare datasets/scenarios/hpa-flapping.yaml \\
          --variant window-60s=datasets/scenarios/variants/window-60s.yaml \\
          --variant window-600s=datasets/scenarios/variants/window-600s.yaml \\
          --seeds 1-5 --out /tmp/flapping
        berth autoscale compare datasets/scenarios/hpa-diurnal.yaml \\
          --variant fixed=none --out /tmp/diurnal
      """)

  @Argument(help: "The scenario: a YAML file or a folder of them.") var scenario: String
  @Option(
    help: ArgumentHelp(
      "NAME=PATCH.yaml (repeatable); PATCH `none`: no HPAs.", valueName: "name=patch"))
  var variant: [String] = []
  @Option(help: "Seeds: N, A-B or a list (default: the scenario's seed, else 1).") var seeds:
    String?
  @Flag(help: "Do not run the scenario as written (`baseline`).") var noBaseline = false
  @Option(help: "Output folder: new, empty, or one berth wrote (it is replaced as a whole).")
  var out: String?

  func run() throws {
    let base: Scenario
    do { base = try Scenario.read(path: scenario) } catch {
      throw CommandFailure(error.description)
    }
    var variants: [(name: String, scenario: Scenario)] = noBaseline ? [] : [("baseline", base)]
    for v in variant {
      guard let eq = v.firstIndex(of: "="), eq != v.startIndex else {
        throw ValidationError("--variant: expected NAME=PATCH.yaml (or NAME=none), found \(v)")
      }
      let name = String(v[..<eq])
      let patch = String(v[v.index(after: eq)...])
      guard !variants.contains(where: { $0.name == name }) else {
        throw ValidationError("--variant: \(name) is named twice")
      }
      do {
        variants.append((name, try ScenarioVariants.apply(scenario: scenario, patch: patch)))
      } catch { throw CommandFailure("variant \(name): \(error.description)") }
    }
    guard !variants.isEmpty else { throw ValidationError("nothing to compare: give --variant") }
    let seedList = try seeds.map { try SeedList.parse($0, option: "--seeds") } ?? [base.seed ?? 1]
    if let out {
      do { try OutputSet.checkDestination(out) } catch { throw CommandFailure(error.description) }
    }
    print(
      "scenario=\(base.name) variants=\(variants.map(\.name).joined(separator: ",")) seeds=\(seedList.map(String.init).joined(separator: ","))"
    )
    let progress = Progress(total: variants.count * seedList.count, label: "runs", unit: "")
    let runs = AutoscaleComparison.run(variants: variants, seeds: seedList) { done, _ in
      progress.update(done)
    }
    progress.finish()
    print(AutoscaleComparison.table(runs), terminator: "")
    guard let out else { return }
    let files = AutoscaleComparison.outputFiles(runs, scenario: base.name, seeds: seedList)
    do { try OutputSet.write(files, to: out) } catch { throw CommandFailure(error.description) }
    print("wrote comparison.csv, comparison.json, report.html to \(out)")
  }
}
