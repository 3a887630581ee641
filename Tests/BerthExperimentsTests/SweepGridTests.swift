import BerthCore
import BerthExperiments
import Testing

struct SweepGridTests {
  @Test("runs are numbered with the first axis slowest and the last fastest, and numbers invert")
  func order() throws {
    let grid = try SweepGrid(axes: [
      .init(name: "workload", values: ["a", "b"]), .init(name: "seed", values: ["1", "2", "3"]),
    ])
    #expect(grid.count == 6)
    let runs = (0..<6).map { grid.run($0).map(\.value).joined(separator: ",") }
    #expect(runs == ["a,1", "a,2", "a,3", "b,1", "b,2", "b,3"])
    for k in 0..<grid.count { #expect(grid.number(of: grid.indices(of: k)) == k) }
    #expect(grid.run(4).map(\.axis) == ["workload", "seed"])
  }

  @Test("the FGD grid: 17 workloads × 6 policies × 10 seeds is 1,020 runs")
  func fgdGrid() throws {
    let grid = try SweepGrid(axes: [
      .init(name: "workload", values: (0..<17).map { "w\($0)" }),
      .init(
        name: "policy", values: ["random", "dotprod", "clustering", "packing", "bestfit", "fgd"]),
      .init(name: "seed", values: (42...51).map(String.init)),
    ])
    #expect(grid.count == 1020)
    #expect(grid.run(1019).map(\.value) == ["w16", "fgd", "51"])
    #expect(grid.run(10).map(\.value) == ["w0", "dotprod", "42"])
  }

  @Test(
    "bad axes are refused with one line",
    arguments: [
      ([SweepGrid.Axis](), "a sweep needs at least one axis"),
      ([.init(name: "seed", values: [])], "axis seed has no values"),
      (
        [.init(name: "seed", values: ["1"]), .init(name: "seed", values: ["2"])],
        "axis seed is given twice"
      ),
      ([.init(name: "seed", values: ["1", "1"])], "axis seed lists 1 twice"),
    ])
  func badAxes(_ axes: [SweepGrid.Axis], _ message: String) {
    #expect(throws: SweepGrid.Problem.self) { try SweepGrid(axes: axes) }
    do {
      _ = try SweepGrid(axes: axes)
    } catch {
      #expect(error.description == message)
    }
  }

  @Test("a product past the limit is refused before anything per run is made")
  func tooManyRuns() {
    let big = (0..<10_000).map(String.init)
    do {
      _ = try SweepGrid(axes: [
        .init(name: "a", values: big), .init(name: "b", values: big),
      ])
      Issue.record("a 100 M-run grid was accepted")
    } catch {
      #expect(error == .tooManyRuns(limit: SweepGrid.maxRuns))
    }
  }

  @Test("every run goes to exactly one shard, the same way every time, within 4/3 of the best")
  func sharding() {
    var rng = SplitMix64(seed: 17)
    for trial in 0..<200 {
      let runs = 1 + rng.nextInt(below: 300)
      let shards = 1 + rng.nextInt(below: 12)
      let costs = (0..<runs).map { _ in Double(1 + rng.nextInt(below: 1000)) }
      let a = SweepSharding.assign(costs: costs, shards: shards)
      #expect(a == SweepSharding.assign(costs: costs, shards: shards), "trial \(trial)")
      #expect(a.allSatisfy { $0 >= 0 && $0 < shards })
      var union: [Int] = []
      for s in 0..<shards { union += SweepSharding.runs(of: s, costs: costs, shards: shards) }
      #expect(union.sorted() == Array(0..<runs), "trial \(trial): each run once")
      var load = [Double](repeating: 0, count: shards)
      for (r, s) in a.enumerated() { load[s] += costs[r] }
      // A lower bound on the best split's largest shard: the mean, and the costliest run.
      let bound = max(costs.reduce(0, +) / Double(shards), costs.max()!)
      #expect(load.max()! <= bound * 4 / 3 + 1e-9, "trial \(trial): \(load.max()!) vs \(bound)")
    }
  }

  @Test("equal costs go round the shards in run order")
  func equalCosts() {
    #expect(SweepSharding.assign(costs: [1, 1, 1, 1, 1], shards: 2) == [0, 1, 0, 1, 0])
    #expect(SweepSharding.runs(of: 1, costs: [5, 1, 1, 1], shards: 2) == [1, 2, 3])
  }

  @Test(
    "--shard I/N and the Job's environment",
    arguments: [
      ("0/1", "0/1"), ("7/8", "7/8"), ("8/8", "the shard index must be 0…7, found 8"),
      ("0/0", "the shard count must be 1…100000, found 0"),
      ("1", "expected I/N such as 0/8, found \"1\""),
      ("-1/4", "the shard index must be 0…3, found -1"),
      ("a/b", "expected I/N such as 0/8, found \"a/b\""),
    ])
  func shardText(_ text: String, _ expected: String) {
    do {
      #expect(try SweepShard.parse(text).description == expected)
    } catch {
      #expect(error.message == expected)
    }
  }

  @Test("an Indexed Job's pod finds its shard in JOB_COMPLETION_INDEX and BERTH_SHARDS")
  func environment() throws {
    #expect(try SweepShard.fromEnvironment([:]) == nil)
    #expect(
      try SweepShard.fromEnvironment(["JOB_COMPLETION_INDEX": "3", "BERTH_SHARDS": "8"])
        == SweepShard(index: 3, count: 8))
    for (env, message) in [
      (["JOB_COMPLETION_INDEX": "3"], "JOB_COMPLETION_INDEX is set without BERTH_SHARDS"),
      (["BERTH_SHARDS": "8"], "BERTH_SHARDS is set without JOB_COMPLETION_INDEX"),
      (
        ["JOB_COMPLETION_INDEX": "9", "BERTH_SHARDS": "8"],
        "JOB_COMPLETION_INDEX/BERTH_SHARDS: the shard index must be 0…7, found 9"
      ),
    ] {
      do {
        _ = try SweepShard.fromEnvironment(env)
        Issue.record("\(env) was accepted")
      } catch {
        #expect(error.message == message)
      }
    }
  }
}
