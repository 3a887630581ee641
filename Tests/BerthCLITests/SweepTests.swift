import BerthCLI
import BerthTestSupport
import Foundation
import Testing
import Yams

let datasetsDir: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("datasets").path

/// `berth sweep run`, `merge` and `job` end to end.
struct SweepTests {
  /// Runs shard i/n of `sweep` into `dir/i` for every i, one process at a time.
  static func runShards(_ sweep: String, _ n: Int, into dir: String) {
    for i in 0..<n {
      let out = dir + "/\(i)"
      #expect(
        CLITests.run(["sweep", "run", sweep, "--shard", "\(i)/\(n)", "--out", out]).code == 0)
    }
  }

  /// Writes `dir/file`: a sweep named `name` of `experiment` with `spec` (settings and axes,
  /// indented as spec's fields); returns its path.
  static func sweepFile(
    _ dir: String, _ file: String, name: String, experiment: String, spec: String
  )
    throws -> String
  {
    let path = dir + "/" + file
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Sweep
      metadata: {name: \(name)}
      spec:
        experiment: \(experiment)

      """
    try (text + spec).write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// A compare sweep over the bundled openb-like trace: 3 policies × 3 seeds.
  static func compareSweep(_ dir: String, nodes: String? = nil, file: String = "grid.yaml") throws
    -> String
  {
    let nodes = nodes ?? datasetsDir + "/openb-like/openb_node_list_gpu_node.csv"
    return try sweepFile(
      dir, file, name: "small-grid", experiment: "compare",
      spec: """
          settings: {nodes: \(nodes), tune: 1.3}
          axes:
          - {name: workload, values: [\(datasetsDir)/openb-like/openb_pod_list_default.csv]}
          - {name: policy, values: [fgd, bestfit, random]}
          - {name: seed, values: 1-3}

        """)
  }

  /// An autoscale-compare sweep: the flapping scenario, baseline and a 60 s window, 2 seeds.
  static func autoscaleSweep(_ dir: String) throws -> String {
    try sweepFile(
      dir, "study.yaml", name: "small-study", experiment: "autoscale-compare",
      spec: """
          settings: {scenario: \(datasetsDir)/scenarios/hpa-flapping.yaml}
          axes:
          - name: variant
            values: [baseline, "window-60s=\(datasetsDir)/scenarios/variants/window-60s.yaml"]
          - {name: seed, values: [1, 2]}

        """)
  }

  /// A simulate sweep: two scenarios, 2 seeds.
  static func simulateSweep(_ dir: String) throws -> String {
    let scenarios = ["hpa-flapping", "hpa-diurnal"].map { "\(datasetsDir)/scenarios/\($0).yaml" }
    return try sweepFile(
      dir, "scenarios.yaml", name: "two-scenarios", experiment: "simulate",
      spec: """
          axes:
          - {name: scenario, values: [\(scenarios.joined(separator: ", "))]}
          - {name: seed, values: 1-2}

        """)
  }

  /// Every file of a folder, by name.
  static func files(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
      out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
    }
    return out
  }

  /// Runs the berth executable; its exit status and standard error.
  static func spawn(_ args: [String], env: [String: String] = [:]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: berthBinary!)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    return p
  }

  @Test(
    "a sweep as N processes with JOB_COMPLETION_INDEX merges to the one-process bytes",
    .enabled(if: berthBinary != nil),
    arguments: [("compare", 3), ("autoscale-compare", 2), ("simulate", 3)])
  func processes(experiment: String, shards: Int) throws {
    let d = try CLITests.tempDir()
    let sweep =
      switch experiment {
      case "compare": try Self.compareSweep(d)
      case "simulate": try Self.simulateSweep(d)
      default: try Self.autoscaleSweep(d)
      }
    let whole = try Self.spawn(["sweep", "run", sweep, "--shard", "0/1", "--out", d + "/whole"])
    // As an Indexed Job's pods: all at once, the shard from the environment.
    let pods = try (0..<shards).map { i in
      try Self.spawn(
        ["sweep", "run", sweep, "--out", d + "/shards/\(i)"],
        env: ["JOB_COMPLETION_INDEX": String(i), "BERTH_SHARDS": String(shards)])
    }
    for p in pods + [whole] {
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
    }
    let merge = try Self.spawn(["sweep", "merge", d + "/shards", "--out", d + "/merged"])
    merge.waitUntilExit()
    #expect(merge.terminationStatus == 0)
    let a = try Self.files(d + "/whole")
    let b = try Self.files(d + "/merged")
    #expect(a.keys.sorted() == b.keys.sorted())
    for (name, bytes) in a { #expect(b[name] == bytes, "\(name) differs") }
    // Each shard holds its own share and no more.
    var runs: [Int] = []
    for i in 0..<shards {
      let m = try String(contentsOfFile: d + "/shards/\(i)/manifest.json", encoding: .utf8)
      #expect(m.contains("\"index\" : \(i)"))
      let records = try String(contentsOfFile: d + "/shards/\(i)/runs.tsv", encoding: .utf8)
      runs += records.split(separator: "\n").map { Int($0.prefix { $0 != "\t" })! }
      #expect(!FileManager.default.fileExists(atPath: d + "/shards/\(i)/report.html"))
    }
    #expect(runs.sorted() == Array(0..<(experiment == "compare" ? 9 : 4)))
  }

  @Test("the merged results are what the experiment's own command writes")
  func sameAsTheCommand() throws {
    let d = try CLITests.tempDir()
    let sweep = try Self.compareSweep(d)
    Self.runShards(sweep, 2, into: d + "/s")
    #expect(CLITests.run(["sweep", "merge", d + "/s/0", d + "/s/1", "--out", d + "/m"]).code == 0)
    let compare = [
      "compare", "--nodes", datasetsDir + "/openb-like/openb_node_list_gpu_node.csv", "--pods",
      datasetsDir + "/openb-like/openb_pod_list_default.csv", "--policies", "fgd,bestfit,random",
      "--seeds", "1-3", "--out", d + "/c",
    ]
    #expect(CLITests.run(compare).code == 0)
    for f in [
      "alloc_curves.csv", "frag_curves.csv", "frag_ratio_curves.csv", "summary.csv", "summary.md",
      "report.html",
    ] {
      #expect(
        try Data(contentsOf: URL(fileURLWithPath: d + "/m/" + f))
          == Data(contentsOf: URL(fileURLWithPath: d + "/c/" + f)), "\(f)")
    }
    let study = try Self.autoscaleSweep(d)
    #expect(CLITests.run(["sweep", "run", study, "--shard", "1/2", "--out", d + "/a/1"]).code == 0)
    #expect(CLITests.run(["sweep", "run", study, "--shard", "0/2", "--out", d + "/a/0"]).code == 0)
    #expect(CLITests.run(["sweep", "merge", d + "/a", "--out", d + "/am"]).code == 0)
    let autoscale = [
      "autoscale", "compare", datasetsDir + "/scenarios/hpa-flapping.yaml", "--variant",
      "window-60s=" + datasetsDir + "/scenarios/variants/window-60s.yaml", "--seeds", "1-2",
      "--out", d + "/ac",
    ]
    #expect(CLITests.run(autoscale).code == 0)
    for f in ["comparison.csv", "comparison.json", "report.html"] {
      #expect(
        try Data(contentsOf: URL(fileURLWithPath: d + "/am/" + f))
          == Data(contentsOf: URL(fileURLWithPath: d + "/ac/" + f)), "\(f)")
    }
  }

  @Test("merge refuses missing, duplicated, mixed-input, mixed-build and altered shards")
  func refusals() throws {
    let d = try CLITests.tempDir()
    // The node list copied, so one shard can read a changed one.
    let nodes = d + "/nodes.csv"
    try FileManager.default.copyItem(
      atPath: datasetsDir + "/openb-like/openb_node_list_gpu_node.csv", toPath: nodes)
    let sweep = try Self.compareSweep(d, nodes: nodes)
    Self.runShards(sweep, 3, into: d + "/s")
    func merge(_ dirs: [String]) -> String? {
      let r = CLITests.run(["sweep", "merge"] + dirs.map { d + "/" + $0 } + ["--out", d + "/m"])
      #expect(r.code != 0)
      #expect(!FileManager.default.fileExists(atPath: d + "/m"))
      return r.message
    }
    let missing = try #require(merge(["s/0", "s/2"]))
    #expect(missing.hasPrefix("cannot merge: 3 of 9 runs are missing (1 (workload="), "\(missing)")
    #expect(missing.hasSuffix("shards present: 0, 2 of 3; absent: 1"), "\(missing)")
    try FileManager.default.copyItem(atPath: d + "/s/1", toPath: d + "/again")
    let twice = try #require(merge(["s/0", "s/1", "s/2", "again"]))
    #expect(
      twice.hasPrefix("cannot merge: run 1 (workload=") && twice.contains("is in both"), "\(twice)")
    // A shard run after its input changed.
    let text = try String(contentsOfFile: nodes, encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    try (lines.dropLast(2).joined(separator: "\n") + "\n").write(
      toFile: nodes, atomically: true, encoding: .utf8)
    #expect(
      CLITests.run(["sweep", "run", sweep, "--shard", "2/3", "--out", d + "/changed"]).code == 0)
    let inputs = try #require(merge(["s/0", "s/1", "changed"]))
    #expect(inputs.hasPrefix("cannot merge: the inputs differ — "), "\(inputs)")
    #expect(inputs.contains("nodes.csv: "), "\(inputs)")
    // A shard of another build.
    let manifest = d + "/s/2/manifest.json"
    let original = try String(contentsOfFile: manifest, encoding: .utf8)
    try original.replacingOccurrences(of: "\"version\" : \"", with: "\"version\" : \"0.9.")
      .write(toFile: manifest, atomically: true, encoding: .utf8)
    let build = try #require(merge(["s/0", "s/1", "s/2"]))
    #expect(build.hasPrefix("cannot merge: the Berth builds differ — "), "\(build)")
    #expect(build.contains("has Berth 0.9."), "\(build)")
    try original.write(toFile: manifest, atomically: true, encoding: .utf8)
    // A record lost from a shard's results.
    let records = d + "/s/1/runs.tsv"
    let kept = try String(contentsOfFile: records, encoding: .utf8).split(separator: "\n")
      .dropLast()
    try (kept.joined(separator: "\n") + "\n").write(
      toFile: records, atomically: true, encoding: .utf8)
    let altered = try #require(merge(["s/0", "s/1", "s/2"]))
    #expect(altered.hasSuffix("an incomplete or altered shard output"), "\(altered)")
    // Not a shard's folder at all.
    let empty = d + "/empty"
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    #expect(merge(["empty"])?.hasSuffix("not a sweep shard's output)") == true)
  }

  @Test("more shards than runs: the empty shards hold no runs and merge like the others")
  func emptyShards() throws {
    let d = try CLITests.tempDir()
    let sweep = try Self.autoscaleSweep(d)
    Self.runShards(sweep, 6, into: d + "/s")
    #expect(try String(contentsOfFile: d + "/s/5/runs.tsv", encoding: .utf8) == "")
    #expect(CLITests.run(["sweep", "merge", d + "/s", "--out", d + "/m"]).code == 0)
    #expect(CLITests.run(["sweep", "run", sweep, "--out", d + "/whole"]).code == 0)
    let (a, b) = (try Self.files(d + "/m"), try Self.files(d + "/whole"))
    #expect(a == b)
  }

  @Test("shard choice: --shard, else the Indexed Job's environment, each refused with one line")
  func shardErrors() throws {
    let d = try CLITests.tempDir()
    let sweep = try Self.compareSweep(d)
    #expect(
      CLITests.run(["sweep", "run", sweep, "--shard", "3/3", "--out", d + "/x"]).message
        == "--shard: the shard index must be 0…2, found 3")
    #expect(
      CLITests.run(["sweep", "run", d + "/none.yaml", "--out", d + "/x"]).message
        == "\(d)/none.yaml: no such file")
  }

  /// JobSpec fields of batch/v1 (the API reference): the generated Job may use no others.
  static let jobSpecFields: Set<String> = [
    "activeDeadlineSeconds", "backoffLimit", "backoffLimitPerIndex", "completionMode",
    "completions", "managedBy", "manualSelector", "maxFailedIndexes", "parallelism",
    "podFailurePolicy", "podReplacementPolicy", "selector", "successPolicy", "suspend",
    "template", "ttlSecondsAfterFinished",
  ]
  static let containerFields: Set<String> = [
    "args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle", "livenessProbe",
    "name", "ports", "readinessProbe", "resizePolicy", "resources", "restartPolicy",
    "securityContext", "startupProbe", "stdin", "stdinOnce", "terminationMessagePath",
    "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir",
  ]

  @Test(
    "sweep job prints a valid Indexed Job, its volume and a merge Job, and they run",
    .enabled(if: berthBinary != nil))
  func job() throws {
    let d = try CLITests.tempDir()
    let sweep = try Self.compareSweep(d)
    let text = try BerthCLI.sweepJobManifests([
      sweep, "--image", "registry.example/berth:0.10", "--shards", "3", "--retries", "4",
      "--storage", "pvc:sweep-results",
    ])
    let docs = try Yams.load_all(yaml: text).map { $0 as! [String: Any] }
    #expect(
      docs.map { $0["kind"] as? String } == ["PersistentVolumeClaim", "ConfigMap", "Job", "Job"])
    let claim = docs[0]
    #expect((claim["metadata"] as? [String: Any])?["name"] as? String == "sweep-results")
    #expect(
      ((claim["spec"] as? [String: Any])?["accessModes"] as? [String]) == ["ReadWriteMany"])
    let config = docs[1]
    let sweepText = try String(contentsOfFile: sweep, encoding: .utf8)
    #expect((config["data"] as? [String: String])?["sweep.yaml"] == sweepText)
    for job in docs[2...] {
      #expect(job["apiVersion"] as? String == "batch/v1")
      let name = try #require((job["metadata"] as? [String: Any])?["name"] as? String)
      #expect(name.count <= 63 && name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
      let spec = try #require(job["spec"] as? [String: Any])
      #expect(Set(spec.keys).isSubset(of: Self.jobSpecFields), "\(spec.keys.sorted())")
      let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
      // backoffLimitPerIndex requires restartPolicy Never; a Job allows only Never or OnFailure.
      #expect(pod["restartPolicy"] as? String == "Never")
      let containers = try #require(pod["containers"] as? [[String: Any]])
      #expect(containers.count == 1)
      #expect(Set(containers[0].keys).isSubset(of: Self.containerFields))
      #expect(containers[0]["image"] as? String == "registry.example/berth:0.10")
      let volumes = try #require(pod["volumes"] as? [[String: Any]])
      #expect(
        (volumes[0]["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String
          == "sweep-results")
      #expect(
        (volumes[1]["configMap"] as? [String: Any])?["name"] as? String
          == (config["metadata"] as? [String: Any])?["name"] as? String)
    }
    let indexed = try #require(docs[2]["spec"] as? [String: Any])
    #expect(indexed["completionMode"] as? String == "Indexed")
    #expect(indexed["completions"] as? Int == 3)
    // Indexed Jobs allow parallelism up to 100,000, and completions must be set.
    #expect((indexed["parallelism"] as? Int).map { $0 >= 1 && $0 <= 3 } == true)
    #expect(indexed["backoffLimitPerIndex"] as? Int == 4)
    let shard = try #require(
      ((indexed["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"]
        as? [[String: Any]])[0]
    #expect(
      (shard["env"] as? [[String: Any]])?.contains {
        $0["name"] as? String == "BERTH_SHARDS" && $0["value"] as? String == "3"
      } == true)
    let requests = try #require(
      (shard["resources"] as? [String: Any])?["requests"] as? [String: Any])
    #expect(requests["cpu"] as? String == "2")
    let merge = try #require(docs[3]["spec"] as? [String: Any])
    #expect(merge["suspend"] as? Bool == true)
    #expect(merge["completionMode"] == nil)

    // The pods' commands, run here: the ConfigMap's sweep as a file, the results volume a folder.
    let volume = d + "/volume"
    let mounted = d + "/sweep.yaml"
    try ((config["data"] as? [String: String])?["sweep.yaml"] ?? "").write(
      toFile: mounted, atomically: true, encoding: .utf8)
    func local(_ args: [String], index: Int?) -> [String] {
      args.map {
        $0.replacingOccurrences(of: "/etc/berth/sweep/sweep.yaml", with: mounted)
          .replacingOccurrences(of: "/results", with: volume)
          .replacingOccurrences(of: "$(JOB_COMPLETION_INDEX)", with: index.map(String.init) ?? "")
      }
    }
    // Each index as its pod: the Job's environment plus the index Kubernetes adds.
    var env = ["JOB_COMPLETION_INDEX": ""]
    for e in shard["env"] as? [[String: Any]] ?? [] {
      env[e["name"] as! String] = e["value"] as? String
    }
    let pods = try (0..<3).map { i in
      env["JOB_COMPLETION_INDEX"] = String(i)
      return try Self.spawn(local(shard["args"] as! [String], index: i), env: env)
    }
    for p in pods {
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
    }
    let mergeContainer = try #require(
      ((merge["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"]
        as? [[String: Any]])[0]
    let merged = CLITests.run(local(mergeContainer["args"] as! [String], index: nil))
    #expect(merged.code == 0, "\(merged.message ?? "")")
    #expect(FileManager.default.fileExists(atPath: volume + "/sweep-small-grid/merged/summary.csv"))
  }

  @Test("sweep job refuses bad options with one line, and needs no inputs where it runs")
  func jobErrors() throws {
    let d = try CLITests.tempDir()
    let sweep = try Self.compareSweep(d)
    // Inputs that live only where the pods run: the objects print, memory defaulted and said so.
    let remote = try Self.compareSweep(d, nodes: "/data/openb/nodes.csv", file: "remote.yaml")
    let text = try BerthCLI.sweepJobManifests([remote, "--image", "x/berth:1", "--shards", "2"])
    #expect(
      text.contains(
        "# Memory per shard: 1Gi, the inputs are not readable here (/data/openb/nodes.csv: no such file)"
      ))
    #expect(text.contains("requests: {cpu: \"2\", memory: 1024Mi}"))
    // A bad sweep is refused all the same.
    try String(contentsOfFile: remote, encoding: .utf8).replacingOccurrences(
      of: "bestfit", with: "best"
    ).write(toFile: remote, atomically: true, encoding: .utf8)
    #expect(
      CLITests.run(["sweep", "job", remote, "--image", "x/berth:1", "--shards", "2"]).message?
        .hasPrefix("small-grid: axis policy: unknown policy \"best\"") == true)
    let base = ["sweep", "job", sweep, "--image", "x/berth:1", "--shards", "2"]
    #expect(
      CLITests.run(base + ["--storage", "s3:bucket"]).message
        == "--storage: expected pvc:NAME (a DNS label) or hostpath:/ABSOLUTE/PATH, found \"s3:bucket\""
    )
    #expect(
      CLITests.run(base + ["--parallelism", "3"]).message
        == "--parallelism must be 1…2 (the shard count), found 3")
    #expect(
      CLITests.run(base + ["--memory", "lots"]).message
        == "--memory: expected a Kubernetes quantity such as 512Mi or 2Gi, found \"lots\"")
  }
}
