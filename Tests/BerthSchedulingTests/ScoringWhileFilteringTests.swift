import BerthCore
import BerthTestSupport
import Testing

@testable import BerthScheduling

/// With `scoresWhileFiltering`, a cycle that filters every node runs PreScore first and scores
/// each chunk right after filtering it. That must never show: every outcome, window, PreScore
/// mode and feasible row's score equals what separate filter and score passes give.
struct ScoringWhileFilteringTests {
  @Test(
    "scoring while filtering decides as separate passes over random clusters, on one core and on two",
    arguments: [false, true])
  func agreesWithSeparatePasses(twoCores: Bool) throws {
    var cycles = 0
    var scoredAlong = 0
    for seed in UInt64(1)...(twoCores ? 4 : 40) {
      var (base, specs, randomProfile) = RandomCluster.make(seed: seed)
      guard !specs.isEmpty else { continue }
      // Every other seed without what makes PreScore read the feasible rows (soft spread
      // constraints) or normalise (preferred terms, PreferNoSchedule taints), so that most of
      // its cycles score while filtering.
      if seed % 2 == 0 { (base, specs) = Self.plain(base, specs) }
      // On two cores, the random nodes repeated past the split threshold.
      let nodes =
        twoCores
        ? (0..<12_000).map { i in
          var node = base[i % base.count]
          node.name = "n\(i)"
          node.labels["kubernetes.io/hostname"] = node.name
          return node
        } : base
      var profile = randomProfile
      if twoCores || seed % 3 == 0 { profile.percentageOfNodesToScore = 100 }
      var rng = SplitMix64(seed: seed ^ 0xF17E)
      let run = try RandomCluster.runTwins(
        nodes, specs: specs, profile: profile, seed: seed, steps: twoCores ? 40 : 120,
        random: &rng,
        configure: {
          $0[0].scoresWhileFiltering = false
          $0[1].usesSecondCore = twoCores
        },
        check: { schedulers, outcomes, step in
          let (a, b) = (schedulers[0], schedulers[1])
          var same =
            outcomes[0] == outcomes[1] && a.lastWindow == b.lastWindow && a.lastModes == b.lastModes
          if same && outcomes[0].feasibleNodes >= 2 {
            for seg in a.lastWindow.segments {
              for i in seg where a.status[i] == 0 {
                same = same && b.status[i] == 0 && a.total[i] == b.total[i]
                for p in a.lastModes.indices {
                  same =
                    same
                    && a.normalizedScore(plugin: p, row: i) == b.normalizedScore(plugin: p, row: i)
                }
              }
            }
          }
          #expect(same, "seed \(seed) step \(step)")
          return same
        })
      cycles += run.cycles
      scoredAlong += run.schedulers[1].passesScoredWhileFiltering
      #expect(run.schedulers[0].passesScoredWhileFiltering == 0)
    }
    #expect(
      cycles > (twoCores ? 100 : 2_000) && scoredAlong > cycles / 5,
      "\(cycles) cycles, \(scoredAlong) scored while filtering")
  }

  /// `nodes` without PreferNoSchedule taints and `pods` without soft spread constraints,
  /// default spreading or preferred terms.
  static func plain(_ nodes: [NodeSpec], _ pods: [PodSpec]) -> ([NodeSpec], [PodSpec]) {
    let nodes = nodes.map { n in
      var n = n
      n.taints.removeAll { $0.effect == .preferNoSchedule }
      return n
    }
    let pods = pods.map { p in
      var p = p
      p.topologySpreadConstraints.removeAll { !$0.doNotSchedule }
      p.defaultSpreadSelector = nil
      p.affinity?.preferred = []
      p.podAffinity.preferred = []
      p.podAntiAffinity.preferred = []
      return p
    }
    return (nodes, pods)
  }
}
