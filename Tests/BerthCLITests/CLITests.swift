import ArgumentParser
import BerthCLI
import BerthTestSupport
import Foundation
import Testing

let sampleDir: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("datasets/sample").path

/// The commands run in-process: errors are one line and a non-zero exit code.
struct CLITests {
  /// Runs `berth args…`; returns the error message and exit code (nil message on success).
  static func run(_ args: [String]) -> (message: String?, code: Int32) {
    do {
      var command = try BerthCommand.parseAsRoot(args)
      try command.run()
      return (nil, 0)
    } catch {
      let message = BerthCommand.message(for: error)
      return (message.isEmpty ? "\(error)" : message, BerthCommand.exitCode(for: error).rawValue)
    }
  }

  static func tempDir() throws -> String {
    let d = InputFixtures.scratch("berth-cli").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }

  @Test("generate then schedule writes placements, score dumps and is deterministic")
  func generateAndSchedule() throws {
    let d = try Self.tempDir()
    #expect(
      Self.run(["generate", "cluster", "--nodes", "60", "--pods", "300", "--seed", "5", "--out", d])
        .code == 0)
    #expect(
      Self.run([
        "schedule", "--cluster", d, "--seed", "9", "--out", d + "/a.csv", "--scores-out",
        d + "/s.csv", "--scores-pods", "3",
      ]).code == 0)
    #expect(
      Self.run(["schedule", "--cluster", d + "/cluster.yaml", "--seed", "9", "--out", d + "/b.csv"])
        .code == 0)
    let a = try String(contentsOfFile: d + "/a.csv", encoding: .utf8)
    #expect(a == (try String(contentsOfFile: d + "/b.csv", encoding: .utf8)))
    #expect(a.split(separator: "\n").count == 301)
    let scores = try String(contentsOfFile: d + "/s.csv", encoding: .utf8)
    #expect(
      scores.hasPrefix(
        "pod,node,total,TaintToleration,NodeAffinity,NodeResourcesFit,VolumeBinding,PodTopologySpread,InterPodAffinity,NodeResourcesBalancedAllocation,ImageLocality\n"
      ))
    // Replaying a run's own placements reproduces it, and dumps the followed pods' scores.
    #expect(
      Self.run([
        "schedule", "--cluster", d, "--seed", "1", "--follow", d + "/a.csv", "--out", d + "/c.csv",
        "--scores-out", d + "/f.csv", "--scores-pods", "3",
      ]).code == 0)
    #expect(a == (try String(contentsOfFile: d + "/c.csv", encoding: .utf8)))
    let followed = try String(contentsOfFile: d + "/f.csv", encoding: .utf8).split(separator: "\n")
    #expect(followed.count > 3)
    #expect(Set(followed.dropFirst().map { $0.split(separator: ",")[0] }).count == 3)
  }

  @Test("--version prints berth's version and exits 0")
  func version() {
    let (message, code) = Self.run(["--version"])
    #expect(code == 0)
    #expect(message == "berth \(BerthVersion.current)")
  }

  @Test("the bundled sample schedules with --explain")
  func sample() {
    #expect(
      Self.run(["schedule", "--cluster", sampleDir, "--seed", "42", "--explain", "pod-00010"]).code
        == 0)
  }

  @Test(
    "the queue runs the preemption sample: the late high-priority pod evicts two pods and binds")
  func preemptionSample() throws {
    let d = try Self.tempDir()
    let file = URL(fileURLWithPath: sampleDir).appendingPathComponent("preemption.yaml").path
    #expect(
      Self.run([
        "schedule", "--cluster", file, "--seed", "1", "--explain", "urgent", "--out", d + "/p.csv",
      ]).code == 0)
    let rows = try String(contentsOfFile: d + "/p.csv", encoding: .utf8).split(separator: "\n").map(
      String.init)
    #expect(rows.filter { $0.hasSuffix(",preempted") }.count == 2)
    #expect(rows.contains { $0.hasPrefix("urgent,n") })
    // Without queueing hints the run retries more but decides the same here.
    #expect(
      Self.run([
        "schedule", "--cluster", file, "--seed", "1", "--no-queueing-hints", "--out", d + "/q.csv",
      ]).code == 0)
    #expect(
      try String(contentsOfFile: d + "/q.csv", encoding: .utf8) == rows.joined(separator: "\n")
        + "\n")
    // Cycles taking 2 ms of virtual time change when pods bind, not where here.
    #expect(
      Self.run([
        "schedule", "--cluster", file, "--seed", "1", "--cycle-time", "2", "--out", d + "/t.csv",
      ]).code == 0)
    #expect(
      try String(contentsOfFile: d + "/t.csv", encoding: .utf8) == rows.joined(separator: "\n")
        + "\n")
  }

  @Test(
    "bad input fails with one clear line and a non-zero exit",
    arguments: [
      (["schedule", "--cluster", "/nonexistent"], "/nonexistent: no such file or directory"),
      (
        ["schedule", "--cluster", sampleDir, "--config", "/nonexistent.yaml"],
        "/nonexistent.yaml: no such file"
      ),
      (
        ["schedule", "--cluster", sampleDir, "--explain", "no-such-pod", "--seed", "1"],
        "--explain: no pod named \"no-such-pod\" in \(sampleDir)"
      ),
      (
        ["schedule", "--cluster", sampleDir, "--follow", "/nonexistent.csv"],
        "/nonexistent.csv: no such file"
      ),
      (
        ["schedule", "--cluster", sampleDir, "--tie-break", "coin"],
        "The value 'coin' is invalid for '--tie-break <tie-break>'. Please provide one of 'uniform' and 'lowest-index'."
      ),
      (
        ["generate", "cluster", "--nodes=-1", "--pods", "1", "--out", "/tmp/x"],
        "--nodes must be in 0…5000000"
      ),
      (
        ["schedule", "--cluster", sampleDir, "--no-queue", "--no-queueing-hints"],
        "--no-queueing-hints applies to queue runs; --no-queue, --follow and --scores-out make none"
      ),
      (
        ["schedule", "--cluster", sampleDir, "--cycle-time=-1"],
        "--cycle-time must be in 0…3600000 milliseconds"
      ),
      (
        ["schedule", "--cluster", sampleDir, "--out", "/nonexistent-dir/p.csv"],
        "/nonexistent-dir/p.csv: --out: the folder /nonexistent-dir does not exist"
      ),
      (
        ["schedule", "--cluster", sampleDir, "--scores-out", "/tmp", "--no-queue"],
        "/tmp: --scores-out: is a folder, not a file"
      ),
      (
        ["bench", "datasets/suites", "--csv", "/nonexistent-dir/r.csv"],
        "/nonexistent-dir/r.csv: --csv: the folder /nonexistent-dir does not exist"
      ),
      (
        ["generate", "cluster", "--nodes", "1", "--pods", "1", "--out", "/nonexistent-dir/c"],
        "/nonexistent-dir/c: the folder that would hold it, /nonexistent-dir, does not exist"
      ),
      (
        ["bench", "datasets/suites", "--throughput-window-ms", "99999999999999"],
        "--throughput-window-ms must be in 1…3600000 (an hour), found 99999999999999"
      ),
    ] as [([String], String)])
  func errors(args: [String], message: String) {
    let (m, code) = Self.run(args)
    #expect(code != 0)
    #expect(m == message)
  }

  @Test("a malformed configuration names the file and field")
  func badConfig() throws {
    let d = try Self.tempDir()
    try
      "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    score:\n      enabled: [{name: Nope}]\n"
      .write(toFile: d + "/c.yaml", atomically: true, encoding: .utf8)
    let (m, code) = Self.run(["schedule", "--cluster", sampleDir, "--config", d + "/c.yaml"])
    #expect(code != 0)
    #expect(
      m == d + "/c.yaml:6: profiles[0].plugins.score.enabled[0].name: unknown plugin \"Nope\"")
  }

  @Test(
    "every command's --help at 80 columns matches its golden file (BERTH_UPDATE_GOLDEN=1 rewrites them)",
    arguments: BerthCLI.allCommands.map(\.path))
  func help(path: String) throws {
    let type = try #require(BerthCLI.allCommands.first { $0.path == path }?.type)
    let text = BerthCommand.helpMessage(for: type, columns: 80)
    let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Golden/help-\(path.replacingOccurrences(of: " ", with: "-")).txt")
      .path
    if ProcessInfo.processInfo.environment["BERTH_UPDATE_GOLDEN"] == "1" {
      try FileManager.default.createDirectory(
        atPath: (golden as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try text.write(toFile: golden, atomically: true, encoding: .utf8)
    }
    #expect(text == (try String(contentsOfFile: golden, encoding: .utf8)))
    // Wrapped cleanly: no line past 80 columns but the generated usage line, and no example
    // command broken by the wrapping (an example line continues only after a backslash).
    var previous = ""
    var inExamples = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
      if line.hasPrefix("USAGE:") { inExamples = false }
      if !line.hasPrefix("USAGE:") { #expect(line.count <= 80, "\(path): \(line)") }
      if inExamples && !line.isEmpty {
        #expect(
          line.hasPrefix("  "), "\(path): example broken at \"\(line)\" after \"\(previous)\"")
      }
      if line.hasPrefix("Example") { inExamples = true }
      previous = line
    }
    #expect(!text.contains("../shared"), "\(path)")
    if !["berth", "generate", "bench"].contains(path) {
      #expect(text.contains("Example"), "\(path)")
    }
  }

  @Test(
    "replaying the oracle's placements scores each recorded choice",
    .enabled(
      if: Skips.unless(Oracle.isAvailable, "needs ../shared/oracles (the kube-scheduler oracle)")))
  func follow() {
    let r = Self.run([
      "schedule", "--cluster", Oracle.input("N1000"), "--config",
      sampleDir + "/../profiles/pct100.yaml",
      "--follow", Oracle.run("N1000_pct100") + "/placements.csv", "--seed", "1",
    ])
    #expect(r.code == 0)
  }
}

struct BenchCLITests {
  @Test("bench compare passes an identical pair and fails an injected regression")
  func compare() throws {
    let d = try CLITests.tempDir()
    let base = d + "/base.json"
    let first = CLITests.run([
      "bench", "run", sampleDir + "/../suites/scheduling-basic.yaml", "--label", "smoke", "--seed",
      "1",
      "--out", base, "--no-allocation-counter", "--allow-unmeasured", "--rounds", "5",
      "--min-sample-ms", "1",
    ])
    #expect(first.code == 0, "\(first.message ?? "")")
    #expect(CLITests.run(["bench", "compare", base, base]).code == 0)
    let text = try String(contentsOfFile: base, encoding: .utf8)
    // A slower run: every round's throughput collapsed.
    let slower = text.replacingOccurrences(
      of: #""throughput_pods_per_s" : ([0-9.e+]+)"#, with: #""throughput_pods_per_s" : 1.0"#,
      options: .regularExpression)
    #expect(slower != text)
    try slower.write(toFile: d + "/slow.json", atomically: true, encoding: .utf8)
    let (m, code) = CLITests.run(["bench", "compare", base, d + "/slow.json"])
    #expect(code != 0)
    #expect(m?.contains("regression") == true)
    // Different decisions: another checksum.
    let changed = text.replacingOccurrences(
      of: "0x", with: "0xf", options: [], range: text.range(of: "\"placements_checksum\" : \"0x")
    )
    .replacingOccurrences(
      of: #"0xf([0-9a-f]{15})[0-9a-f]"#, with: "0xf$1", options: .regularExpression)
    try changed.write(toFile: d + "/changed.json", atomically: true, encoding: .utf8)
    #expect(CLITests.run(["bench", "compare", base, d + "/changed.json"]).code != 0)
  }

  @Test("bench errors are one line with a non-zero exit")
  func errors() throws {
    let d = try CLITests.tempDir()
    try
      "name: S\ntestCases:\n- name: T\n  workloadTemplate:\n  - opcode: nope\n  workloads: [{name: w}]\n"
      .write(toFile: d + "/bad.yaml", atomically: true, encoding: .utf8)
    let (m, code) = CLITests.run(["bench", "run", d + "/bad.yaml"])
    #expect(code != 0)
    #expect(
      m?.hasPrefix(
        d + "/bad.yaml:5: testCases[0].workloadTemplate[0].opcode: unknown opcode \"nope\"") == true
    )
    #expect(
      CLITests.run(["bench", "compare", "/nonexistent.json", "/nonexistent.json"]).message
        == "/nonexistent.json: no such file")
    #expect(
      CLITests.run([
        "bench", "run", sampleDir + "/../suites", "--label", "no-such-label",
        "--no-allocation-counter",
      ]).code != 0)
  }

  @Test(
    "bench ab runs two copies of the binary and reports a ratio near 1",
    .enabled(if: berthBinary != nil))
  func ab() throws {
    let d = try CLITests.tempDir()
    let copy = d + "/berth-copy"
    try FileManager.default.copyItem(atPath: berthBinary!, toPath: copy)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: berthBinary!)
    p.arguments = [
      "bench", "ab", "--baseline", copy, sampleDir + "/../suites/scheduling-basic.yaml", "--label",
      "smoke", "--rounds", "3",
    ]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    #expect(out.contains("placements: identical decisions"))
    let ratio = out.split(separator: "\n").first {
      $0.hasPrefix("SchedulingBasic/SchedulingBasic/smoke")
    }
    .flatMap { Double($0.split(separator: " ")[1]) }
    #expect(ratio.map { $0 > 0.3 && $0 < 3 } == true, "ratio \(String(describing: ratio))")
  }
}

extension BenchCLITests {
  @Test(
    "bench run --instructions counts the same instructions per pod in two runs, and compare gates on them",
    .enabled(if: berthBinary != nil && valgrindInstalled))
  func instructions() throws {
    let d = try CLITests.tempDir()
    var counts: [Double] = []
    for name in ["a", "b"] {
      // A child process: counting re-runs the executable itself under callgrind.
      let p = Process()
      p.executableURL = URL(fileURLWithPath: berthBinary!)
      p.arguments = [
        "bench", "run", sampleDir + "/../suites/scheduling-basic.yaml", "--label", "smoke",
        "--workload", "smoke", "--seed", "1", "--rounds", "1", "--min-sample-ms", "0",
        "--no-allocation-counter", "--allow-unmeasured", "--instructions", "--out",
        d + "/\(name).json",
      ]
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try p.run()
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
      let data = try Data(contentsOf: URL(fileURLWithPath: d + "/\(name).json"))
      let report = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      let workloads = report?["workloads"] as? [[String: Any]] ?? []
      counts += workloads.compactMap { $0["instructions_per_pod"] as? Double }
    }
    #expect(counts.count == 2 && counts[0] > 1_000, "\(counts)")
    #expect(counts.count == 2 && abs(counts[0] - counts[1]) <= counts[0] * 1e-4, "\(counts)")
    let compare = CLITests.run([
      "bench", "compare", d + "/a.json", d + "/b.json", "--gate", "instructions",
    ])
    #expect(compare.code == 0, "\(compare.message ?? "")")
  }
}

/// Whether valgrind is on PATH (instruction counting runs berth under callgrind).
let valgrindInstalled: Bool = {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  return path.split(separator: ":").contains {
    FileManager.default.isExecutableFile(atPath: "\($0)/valgrind")
  }
}()

/// The `berth` executable SwiftPM built beside the tests, if any.
let berthBinary: String? = {
  let build = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build/debug/berth").path
  return FileManager.default.isExecutableFile(atPath: build) ? build : nil
}()

struct CompareCLITests {
  @Test("compare runs the bundled openb-like trace and writes every output; same seeds, same CSVs")
  func compare() throws {
    let d = try CLITests.tempDir()
    let args = [
      "compare", "--nodes", sampleDir + "/../openb-like/openb_node_list_gpu_node.csv",
      "--pods", sampleDir + "/../openb-like/openb_pod_list_default.csv", "--policies",
      "fgd,bestfit,random", "--seeds", "1-2",
    ]
    #expect(CLITests.run(args + ["--out", d + "/a"]).code == 0)
    #expect(CLITests.run(args + ["--out", d + "/b"]).code == 0)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: d + "/a").sorted() == [
        "alloc_curves.csv", "berth-outputs.txt", "frag_curves.csv", "frag_ratio_curves.csv",
        "report.html", "run.json", "summary.csv", "summary.md",
      ])
    #expect(
      try String(contentsOfFile: d + "/a/alloc_curves.csv", encoding: .utf8)
        == String(contentsOfFile: d + "/b/alloc_curves.csv", encoding: .utf8))
    // run.json names the inputs by path and checksum, the seeds, policies and version.
    let record = try String(contentsOfFile: d + "/a/run.json", encoding: .utf8)
    #expect(record.contains("\"fnv1a64\""))
    #expect(record.contains("\"berthVersion\" : \"\(BerthVersion.current)\""))
    #expect(
      record.contains("\"policies\" : [\n    \"fgd\",\n    \"bestfit\",\n    \"random\"\n  ]"))
    // The same pods under another file name give the same results (only the label differs).
    let renamed = d + "/mypods.csv"
    try FileManager.default.copyItem(
      atPath: sampleDir + "/../openb-like/openb_pod_list_default.csv", toPath: renamed)
    let other = [
      "compare", "--nodes", sampleDir + "/../openb-like/openb_node_list_gpu_node.csv", "--pods",
      renamed,
      "--policies", "fgd,bestfit,random", "--seeds", "1-2", "--out", d + "/c",
    ]
    #expect(CLITests.run(other).code == 0)
    let original = try String(contentsOfFile: d + "/a/summary.csv", encoding: .utf8)
    let relabelled = try String(contentsOfFile: d + "/c/summary.csv", encoding: .utf8)
      .replacingOccurrences(of: "mypods,", with: "default,")
    #expect(original == relabelled)
    #expect(
      try String(contentsOfFile: d + "/a/alloc_curves.csv", encoding: .utf8).hasPrefix(
        "workload,sc_policy,tune,seed,total_gpus,0,1,2,"))
  }

  @Test("compare rejects unknown policies and bad seeds with one line")
  func errors() {
    let base = ["compare", "--nodes", "n.csv", "--pods", "p.csv", "--out", "/tmp/x"]
    #expect(
      CLITests.run(base + ["--policies", "fastest"]).message?.hasPrefix(
        "--policies: unknown policy \"fastest\"") == true)
    #expect(
      CLITests.run(base + ["--seeds", "9-1"]).message
        == "--seeds: the range 9-1 runs backwards (expected N, A-B or a comma-separated list such as 1,5-7,9; found \"9-1\")"
    )
    #expect(CLITests.run(base).message == "n.csv: no such file")
  }

  @Test(
    "compare refuses seed, policy, tune and pod-file lists that would run nothing or run twice",
    arguments: [
      (["--seeds", "-"], "--seeds: \"-\" is an open range"),
      (["--seeds=-"], "--seeds: \"-\" is an open range"),
      (["--seeds", "1,-,2"], "--seeds: \"-\" is an open range"),
      (["--seeds", "5-"], "--seeds: \"5-\" is an open range"),
      (["--seeds", "3,3"], "--seeds: seed 3 is listed twice"),
      (["--seeds", "1-3,2"], "--seeds: seed 2 is listed twice"),
      (["--seeds", ","], "--seeds: an empty entry"), (["--seeds", ""], "--seeds: an empty entry"),
      (["--seeds", "x"], "--seeds: \"x\" is not a non-negative integer or range"),
      (["--seeds", "0-100000"], "--seeds: more than 100000 seeds"),
      (["--policies", ","], "--policies: unknown policy \"\""),
      (["--policies", "fgd,fgd"], "--policies: fgd is listed twice"),
      (["--tune", "nan"], "--tune must be a number in 0…10, found nan"),
      (["--tune=-1"], "--tune must be a number in 0…10, found -1.0"),
      (["--pods", "p.csv"], "--pods: p.csv is given twice"),
      (["--pods", "./p.csv"], "--pods: ./p.csv is given twice"),
      (
        ["--pods", "other/p.csv"],
        "--pods: two files give the workload name \"p\" (results are labelled by file name)"
      ),
    ] as [([String], String)])
  func refusedLists(extra: [String], message: String) {
    let base = ["compare", "--nodes", "n.csv", "--pods", "p.csv", "--out", "/tmp/x"]
    #expect(
      CLITests.run(base + extra).message?.hasPrefix(message) == true,
      "\(CLITests.run(base + extra).message ?? "no error")")
  }
}

/// `kubectl get nodes,pods -A -o yaml` dumps mean what they say.
struct ClusterDumpTests {
  static let dump = """
    apiVersion: v1
    items:
    - apiVersion: v1
      kind: Node
      metadata: {name: n1, labels: {kubernetes.io/hostname: n1}}
      status:
        allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
        conditions: [{type: Ready, status: "True"}]
    - apiVersion: v1
      kind: Node
      metadata: {name: n2, labels: {kubernetes.io/hostname: n2}}
      status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    - apiVersion: v1
      kind: Pod
      metadata: {name: db, namespace: default, labels: {app: db}}
      spec:
        nodeName: n1
        containers: [{name: c, resources: {requests: {cpu: "3"}}}]
      status: {phase: Running}
    - apiVersion: v1
      kind: Pod
      metadata: {name: batch-done, namespace: default}
      spec:
        nodeName: n2
        containers: [{name: c, resources: {requests: {cpu: "4"}}}]
      status: {phase: Succeeded}
    - apiVersion: v1
      kind: Pod
      metadata: {name: lost, namespace: default}
      spec:
        nodeName: gone
        containers: [{name: c}]
      status: {phase: Running}
    - apiVersion: v1
      kind: Pod
      metadata: {name: custom, namespace: default}
      spec:
        schedulerName: my-scheduler
        containers: [{name: c}]
      status: {phase: Pending}
    - apiVersion: v1
      kind: Pod
      metadata: {name: waiting, namespace: default}
      spec:
        schedulingGates: [{name: example.com/quota}]
        containers: [{name: c}]
      status: {phase: Pending}
    - apiVersion: v1
      kind: Pod
      metadata: {name: web, namespace: default, labels: {app: web}}
      spec:
        containers: [{name: c, resources: {requests: {cpu: "2"}}}]
        affinity:
          podAntiAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
            - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: db}}}
      status: {phase: Pending}
    kind: List
    metadata: {resourceVersion: ""}
    """

  @Test(
    "a dump's running pods occupy their nodes, finished and orphaned pods hold nothing, other schedulers' and gated pods wait",
    arguments: [false, true])
  func dump(noQueue: Bool) throws {
    let d = try CLITests.tempDir()
    try Self.dump.write(toFile: d + "/dump.yaml", atomically: true, encoding: .utf8)
    let (message, code) = CLITests.run(
      ["schedule", "--cluster", d + "/dump.yaml", "--seed", "1", "--out", d + "/out.csv"]
        + (noQueue ? ["--no-queue"] : []))
    #expect(code == 0, "\(message ?? "")")
    let rows = try String(contentsOfFile: d + "/out.csv", encoding: .utf8).split(separator: "\n")
      .map(String.init)
    // db holds 3 of n1's 4 CPUs, and web's anti-affinity keeps it off db's node anyway; the
    // finished pod on n2 holds nothing, so web fits there. The orphan and the finished pod
    // are not in the cluster.
    #expect(rows == ["pod,node", "db,n1", "custom,pending", "waiting,gated", "web,n2"])
  }
}

/// Several profiles in one KubeSchedulerConfiguration: each pod goes through the profile its
/// `spec.schedulerName` names, as kube-scheduler routes pods to its frameworks.
struct ProfileRoutingTests {
  static let cluster = """
    - {apiVersion: v1, kind: Node, metadata: {name: n1, labels: {kubernetes.io/hostname: n1}}, status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}}
    - {apiVersion: v1, kind: Node, metadata: {name: n2, labels: {kubernetes.io/hostname: n2}}, status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}}
    - {apiVersion: v1, kind: Pod, metadata: {name: db}, spec: {nodeName: n1, containers: [{name: c, resources: {requests: {cpu: "2"}}}]}, status: {phase: Running}}
    - {apiVersion: v1, kind: Pod, metadata: {name: spread-1}, spec: {containers: [{name: c, resources: {requests: {cpu: "1", memory: 1Gi}}}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: packed-1}, spec: {schedulerName: packer, containers: [{name: c, resources: {requests: {cpu: "1", memory: 1Gi}}}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: packed-2}, spec: {schedulerName: packer, containers: [{name: c, resources: {requests: {cpu: "1", memory: 1Gi}}}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: spread-2}, spec: {containers: [{name: c, resources: {requests: {cpu: "1", memory: 1Gi}}}]}}
    - {apiVersion: v1, kind: Pod, metadata: {name: elsewhere}, spec: {schedulerName: other, containers: [{name: c}]}}
    """
  /// The default profile spreads (LeastAllocated); `packer` packs (MostAllocated, no balance).
  static let config = """
    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    profiles:
    - schedulerName: default-scheduler
    - schedulerName: packer
      plugins:
        score:
          disabled: [{name: NodeResourcesBalancedAllocation}]
      pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}
    """

  @Test(
    "pods go through the profile their schedulerName names; unknown names stay pending",
    arguments: [false, true])
  func routing(noQueue: Bool) throws {
    let d = try CLITests.tempDir()
    try ("kind: List\nitems:\n" + Self.cluster).write(
      toFile: d + "/c.yaml", atomically: true, encoding: .utf8)
    try Self.config.write(toFile: d + "/config.yaml", atomically: true, encoding: .utf8)
    let args = [
      "schedule", "--cluster", d + "/c.yaml", "--config", d + "/config.yaml", "--seed", "1",
      "--out", d + "/out.csv",
    ]
    let (message, code) = CLITests.run(args + (noQueue ? ["--no-queue"] : []))
    #expect(code == 0, "\(message ?? "")")
    let rows = try String(contentsOfFile: d + "/out.csv", encoding: .utf8).split(separator: "\n")
      .map(String.init)
    // n1 holds db's 2 CPUs. spread-1 takes the emptier n2; the packer's pods fill n1 (3 then
    // 4 of 4 CPUs) although n2 is emptier; spread-2 then finds n1 full and goes to n2. Without
    // the packer profile its pods are left to a scheduler the run does not have.
    #expect(
      rows == [
        "pod,node", "db,n1", "spread-1,n2", "packed-1,n1", "packed-2,n1", "spread-2,n2",
        "elsewhere,pending",
      ])
    let single = CLITests.run(
      ["schedule", "--cluster", d + "/c.yaml", "--seed", "1", "--out", d + "/one.csv"]
        + (noQueue ? ["--no-queue"] : []))
    #expect(single.code == 0)
    let one = try String(contentsOfFile: d + "/one.csv", encoding: .utf8).split(separator: "\n")
      .map(String.init)
    #expect(one.contains("packed-1,pending"))
  }

  @Test("the score dump of several profiles has every profile's plugins and a profile column")
  func scoreDump() throws {
    let d = try CLITests.tempDir()
    try ("kind: List\nitems:\n" + Self.cluster).write(
      toFile: d + "/c.yaml", atomically: true, encoding: .utf8)
    try Self.config.write(toFile: d + "/config.yaml", atomically: true, encoding: .utf8)
    let (message, code) = CLITests.run([
      "schedule", "--cluster", d + "/c.yaml", "--config", d + "/config.yaml", "--seed", "1",
      "--scores-out", d + "/scores.csv",
    ])
    #expect(code == 0, "\(message ?? "")")
    let lines = try String(contentsOfFile: d + "/scores.csv", encoding: .utf8).split(
      separator: "\n"
    ).map(String.init)
    let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    #expect(
      header.first == "pod" && header.last == "profile"
        && header.contains("NodeResourcesBalancedAllocation"))
    let balance = try #require(header.firstIndex(of: "NodeResourcesBalancedAllocation"))
    let packed = lines.dropFirst().map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }.filter { $0[0] == "packed-1" }
    #expect(packed.count == 2 && packed.allSatisfy { $0.last == "packer" && $0[balance].isEmpty })
  }
}

/// `--feature-gates` gives an older version's behaviour.
struct FeatureGateTests {
  static let cluster = """
    - {apiVersion: v1, kind: Node, metadata: {name: n1, labels: {zone: a}}, status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}}
    - {apiVersion: v1, kind: Node, metadata: {name: n2, labels: {zone: a}}, status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}}
    - {apiVersion: v1, kind: Pod, metadata: {name: first, labels: {app: x}}, spec: {nodeName: n1, containers: [{name: c}]}, status: {phase: Running}}
    - apiVersion: v1
      kind: Pod
      metadata: {name: second, labels: {app: x}}
      spec:
        containers: [{name: c}]
        topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule, minDomains: 2, labelSelector: {matchLabels: {app: x}}}
    """

  @Test("MinDomainsInPodTopologySpread=false ignores minDomains, as v1.26 did by default")
  func minDomains() throws {
    let d = try CLITests.tempDir()
    try ("kind: List\nitems:\n" + Self.cluster).write(
      toFile: d + "/c.yaml", atomically: true, encoding: .utf8)
    // One zone of two required: the global minimum counts as 0, so a second pod would skew 2.
    #expect(
      CLITests.run(["schedule", "--cluster", d + "/c.yaml", "--seed", "1", "--out", d + "/on.csv"])
        .code == 0)
    #expect(
      try String(contentsOfFile: d + "/on.csv", encoding: .utf8).contains("second,unschedulable"))
    #expect(
      CLITests.run([
        "schedule", "--cluster", d + "/c.yaml", "--seed", "1", "--out", d + "/off.csv",
        "--feature-gates", "MinDomainsInPodTopologySpread=false",
      ]).code == 0)
    #expect(try String(contentsOfFile: d + "/off.csv", encoding: .utf8).contains("second,n"))
  }

  @Test(
    "bad --feature-gates are one-line errors",
    arguments: [
      (
        "NoSuchGate=true",
        "--feature-gates: unknown gate \"NoSuchGate\" (Berth models MinDomainsInPodTopologySpread, MatchLabelKeysInPodTopologySpread, NodeInclusionPolicyInPodTopologySpread, MatchLabelKeysInPodAffinity, PodSchedulingReadiness, SchedulerQueueingHints)"
      ),
      (
        "MinDomainsInPodTopologySpread",
        "--feature-gates: expected Gate=true or Gate=false, found \"MinDomainsInPodTopologySpread\""
      ),
      (
        "MinDomainsInPodTopologySpread=maybe",
        "--feature-gates: MinDomainsInPodTopologySpread: expected true or false, found \"maybe\""
      ),
    ])
  func errors(value: String, message: String) {
    let (m, code) = CLITests.run(["schedule", "--cluster", sampleDir, "--feature-gates", value])
    #expect(code != 0)
    #expect(m == message)
  }
}
