import BerthCore
import BerthTestSupport
import CBerthSystem
import Testing

@testable import BerthScheduling

/// The C filter kernels (berth_kernels.h) against the one-row-at-a-time form, and that form
/// against the Swift loop it replaced: every vector form this CPU runs, whatever the build
/// targets, over random columns, row ranges with ragged ends and statuses already set.
struct FilterKernelTests {
  @Test(
    "NodeResourcesFit's filter: AVX2 and AVX-512 forms equal the row loop, which equals Swift's")
  func fitFilter() {
    var rng = SplitMix64(seed: 18)
    #if arch(x86_64)
      let level = Int(berth_cpu_vector_level())
    #else
      let level = 0
    #endif
    let rows = 300
    var (slots, cpu, memory) = ([Double](), [Double](), [Double]())
    for round in 0..<2_000 {
      // Exact integers as the node table holds them: free slots around 1, free amounts around
      // the request (equal included), negative free amounts after an allocatable shrink.
      let (c, m) = (Double(rng.nextInt(below: 8)), Double(rng.nextInt(below: 8)))
      slots = (0..<rows).map { _ in Double(rng.nextInt(below: 4) - 1) }
      cpu = (0..<rows).map { _ in Double(rng.nextInt(below: 12) - 2) }
      memory = (0..<rows).map { _ in Double(rng.nextInt(below: 12) - 2) }
      let request = (
        cpu: round % 7 == 0 ? -Double.infinity : c, memory: round % 5 == 0 ? -Double.infinity : m
      )
      let start = (0..<rows).map { _ in
        rng.nextInt(below: 3) == 0 ? UInt8(rng.nextInt(below: 9)) : 0
      }
      let lo = rng.nextInt(below: 40)
      let hi = lo + rng.nextInt(below: rows - lo + 1)
      let code = UInt8(1 + rng.nextInt(below: 254))
      // Swift's loop, as NodeResourcesFit ran it before the kernel.
      var expected = start
      for i in lo..<hi {
        let fail =
          bit(slots[i] < 1) | bit(request.cpu > cpu[i]) | bit(request.memory > memory[i])
        expected[i] = markFailure(expected[i], failed: fail != 0, code: code)
      }
      func run(_ kernel: FitKernel) -> [UInt8] {
        var out = start
        kernel(slots, cpu, memory, request.cpu, request.memory, &out, lo, hi, code)
        return out
      }
      #expect(run(berth_fit_filter_rows) == expected, "round \(round): rows")
      #expect(run(berth_fit_filter) == expected, "round \(round): the build's form")
      #if arch(x86_64)
        if level >= 1 { #expect(run(berth_fit_filter_avx2) == expected, "round \(round): AVX2") }
        if level >= 2 {
          #expect(run(berth_fit_filter_avx512) == expected, "round \(round): AVX-512")
        }
      #endif
    }
    // This host's CPU (the tests run the vector forms only where it has them).
    print("FilterKernelTests: vector level \(level)")
  }

  typealias FitKernel = (
    UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>, Double, Double,
    UnsafeMutablePointer<UInt8>, Int, Int, UInt8
  ) -> Void
}
