import BerthCore
import BerthTestSupport
import Foundation
import Synchronization
import Testing

@testable import BerthScheduling

/// With `usesSecondCore`, filter and score passes over 10,000 rows or more are split by chunks
/// between the calling thread and the process's spinning worker. The split must never show:
/// every item runs exactly once, and a scheduler on two cores decides exactly as one on one.
struct SecondCoreTests {
  @Test("the spinning worker runs every item exactly once, with one caller or two at once")
  func workerRunsEveryItemOnce() {
    let counts = [0, 1, 2, 3, 7, 64, 1_000]
    // One caller, many jobs back to back (the worker spinning between them) and after pauses
    // long enough for it to park.
    for round in 0..<300 {
      let count = counts[round % counts.count]
      var runs = [Int](repeating: 0, count: count)
      runs.withUnsafeMutableBufferPointer { r in
        // SAFETY: item i writes only r[i].
        SpinningWorker.shared.forEach(count) { i in r[i] += 1 }
      }
      #expect(runs.allSatisfy { $0 == 1 }, "round \(round): \(count) items")
      if round % 100 == 99 { Thread.sleep(forTimeInterval: 0.005) }
    }
    // Two callers at once: one gets the worker, the other runs its items alone.
    let failures = Atomic(0)
    DispatchQueue.concurrentPerform(iterations: 2) { caller in
      for round in 0..<500 {
        let count = counts[(round + caller) % counts.count]
        var runs = [Int](repeating: 0, count: count)
        runs.withUnsafeMutableBufferPointer { r in
          SpinningWorker.shared.forEach(count) { i in r[i] += 1 }
        }
        if !runs.allSatisfy({ $0 == 1 }) { failures.wrappingAdd(1, ordering: .relaxed) }
      }
    }
    #expect(failures.load(ordering: .relaxed) == 0)
  }

  @Test("aligned chunks cover a range exactly, each within one block of the chunk size")
  func alignedChunks() {
    let size = Scheduler.scoreChunkRows
    let ranges = [
      0..<0, 0..<1, 5..<size, size - 1..<size + 1, 100..<10_000, 2 * size..<4 * size,
      3..<3 * size + 7, 12_345..<12_346,
    ]
    for rows in ranges {
      let chunks = AlignedChunks(rows)
      var next = rows.lowerBound
      for k in 0..<chunks.count {
        let c = chunks[k]
        #expect(!c.isEmpty && c.lowerBound == next, "\(rows): chunk \(k) is \(c)")
        #expect(c.lowerBound / size == (c.upperBound - 1) / size, "\(rows): \(c) spans two blocks")
        #expect(k == 0 || c.lowerBound % size == 0, "\(rows): \(c) starts inside a block")
        next = c.upperBound
      }
      #expect(next == rows.upperBound, "\(rows) covered up to \(next)")
    }
  }

  @Test(
    "a scheduler on two cores decides exactly as one on one core over 12,000-node random clusters with unbinds, new nodes, cordons and taints"
  )
  func secondCoreAgrees() throws {
    var cycles = 0
    var split = 0
    for seed in UInt64(1)...6 {
      let (base, specs, randomProfile) = RandomCluster.make(seed: seed)
      guard !specs.isEmpty else { continue }
      // The random nodes repeated past the split threshold, each with its own name.
      let nodes = (0..<12_000).map { i in
        var node = base[i % base.count]
        node.name = "n\(i)"
        node.labels["kubernetes.io/hostname"] = node.name
        return node
      }
      var profile = randomProfile
      profile.percentageOfNodesToScore =
        seed % 2 == 0 ? 100 : randomProfile.percentageOfNodesToScore
      var rng = SplitMix64(seed: seed ^ 0xC02E)
      let run = try RandomCluster.runTwins(
        nodes, specs: specs, profile: profile, seed: seed, steps: 40, random: &rng,
        configure: { $0[1].usesSecondCore = true },
        check: { schedulers, outcomes, step in
          #expect(outcomes[0] == outcomes[1], "seed \(seed) step \(step)")
          #expect(schedulers[0].lastWindow == schedulers[1].lastWindow, "seed \(seed) step \(step)")
          return outcomes[0] == outcomes[1]
        })
      cycles += run.cycles
      let schedulers = run.schedulers
      #expect(schedulers[0].splitPasses == 0)
      split += schedulers[1].splitPasses
    }
    #expect(cycles > 150 && split > 100, "\(cycles) cycles, \(split) passes split")
  }
}
