import BerthCore
import BerthTestSupport
import Testing

@testable import BerthScheduling

/// The resource scorers' division-free forms give the very results of the divisions they
/// replace, and the node table's doubles follow its integer columns.
struct ReciprocalArithmeticTests {
  /// Integers log-uniform in [lo, hi): every magnitude is drawn as often.
  static func logUniform(_ rng: inout SplitMix64, _ lo: Int64, _ hi: Int64) -> Int64 {
    let bits = Int64(64 - (hi - 1).leadingZeroBitCount)
    let top = Int64(1) << Int64(rng.nextInt(below: Int(bits) + 1))
    let v = Int64(rng.next() % UInt64(top))
    return min(max(v, lo), hi - 1)
  }

  @Test("the multiply-add quotient is the division's double for integers a < 2^53, 1 ≤ b < 2^46")
  func correctlyRoundedQuotient() {
    var pairs: [(Int64, Int64)] = []
    for b in Int64(1)...200 { for a in 0...(3 * b) { pairs.append((a, b)) } }
    let edges: [Int64] = [
      (1 << 46) - 1, (1 << 45) + 1, 1 << 45, 1 << 40, 3 << 40, 999_999_999_989, (1 << 32) - 1,
      1 << 32, 1_000_000_007, 3, 7, 10, 1000, 32_000,
    ]
    for b in edges {
      let numerators: [Int64] = [
        0, 1, 2, b / 3, b / 2, b - 1, b, b + 1, 100 * b - 1, 100 * b, 100 * b + 1, (1 << 53) - 1,
        (1 << 52) + 1,
      ]
      for a in numerators where a >= 0 && a < 1 << 53 {
        pairs.append((a, b))
      }
    }
    var rng = SplitMix64(seed: 53)
    for _ in 0..<400_000 {
      let b = Self.logUniform(&rng, 1, 1 << 46)
      pairs.append((Self.logUniform(&rng, 0, 1 << 53), b))
      pairs.append((Int64(rng.next() % UInt64(b + 1)), b))  // the fractions: a ≤ b
    }
    var wrong = 0
    for (a, b) in pairs {
      let (x, y) = (Double(a), Double(b))
      let q = ExactMath.correctlyRoundedQuotient(x, y, inverse: 1 / y)
      if q.bitPattern != (x / y).bitPattern { wrong += 1 }
    }
    #expect(wrong == 0, "\(wrong) of \(pairs.count) quotients differ from the division")
    // A zero allocatable: its inverse is 0, and so is the quotient, by either form.
    #expect(ExactMath.correctlyRoundedQuotient(0, 0, inverse: 0) == 0)
    #expect(ExactMath.quotient(0, 0, inverse: 0) == 0)
  }

  @Test("LeastAllocated's biased multiply-add is ⌊100·f/a⌋ for 0 ≤ f ≤ a < 2^44")
  func leastAllocatedFloors() {
    var cases: [(free: Int64, pod: Int64, a: Int64)] = []
    for a in Int64(1)...400 { for f in 0...a { cases.append((f, 0, a)) } }
    // Free amounts at and next to every exact hundredth of large allocatable amounts.
    for a: Int64 in [
      (1 << 44) - 1, (1 << 43) + 1, 1 << 43, 100 << 30, 128 << 30, 64_000, 999_999_999_989,
    ] {
      for k in Int64(0)...100 {
        let f = a * k / 100
        for d: Int64 in [-1, 0, 1] where f + d >= 0 && f + d <= a { cases.append((f + d, 0, a)) }
      }
    }
    var rng = SplitMix64(seed: 44)
    for _ in 0..<300_000 {
      let a = Self.logUniform(&rng, 1, 1 << 44)
      // Free as allocatable less a request, and the pod's request taken off here (or past it).
      let free = a - Int64(rng.next() % UInt64(a + 1))
      let pod = rng.nextInt(below: 4) == 0 ? Int64(rng.next() % UInt64(a + 1)) : 0
      cases.append((free, pod, a))
    }
    var wrong = (truncated: 0, bits: 0)
    let shift = ResourceKernels.roundingShift.bitPattern
    for (free, pod, a) in cases {
      let (f, p, y) = (Double(free), Double(pod), 1 / Double(a))
      let expected = max(free - pod, 0) * 100 / a
      if Int64(ResourceKernels.leastAllocated(free: f, pod: p, inverse: y)) != expected {
        wrong.truncated += 1
      }
      let bits = ResourceKernels.leastAllocatedBits(free: f, pod: p, inverse: y)
      if Int64(bitPattern: bits &- shift) != expected { wrong.bits += 1 }
    }
    #expect(wrong == (0, 0), "\(wrong) of \(cases.count) scores off")
    #expect(ResourceKernels.leastAllocated(free: 0, pod: 5, inverse: 0) == 0)
  }

  /// Nodes of every kind of allocatable (none, tiny, odd, powers of two, up to 2^44 − 1) with
  /// pods bound at random (some without requests, so the non-zero sums differ from the real).
  /// Without `zeros`, every node has some CPU and memory (the kernels' all-positive forms).
  static func cluster(seed: UInt64, largest: Int64 = (1 << 44) - 1, zeros: Bool = true) throws
    -> Cluster
  {
    var rng = SplitMix64(seed: seed)
    let cluster = Cluster()
    func amount(_ rng: inout SplitMix64, typical: Int64) -> Int64 {
      switch rng.nextInt(below: 10) {
      case 0: return zeros ? 0 : 1
      case 1: return largest - Int64(rng.nextInt(below: 3))
      case 2: return 1 << Int64(rng.nextInt(below: 40))
      case 3: return Int64(rng.nextInt(below: 5)) + 1
      default: return Int64(rng.next() % UInt64(typical)) + 1
      }
    }
    for i in 0..<300 {
      let node = cluster.addNode(
        Builders.node(
          "n\(i)", cpu: amount(&rng, typical: 64_000), memory: amount(&rng, typical: 256 << 30)))
      for j in 0..<rng.nextInt(below: 6) {
        let cpu = rng.nextInt(below: 3) == 0 ? nil : Int64(rng.nextInt(below: 8_000))
        let memory = rng.nextInt(below: 3) == 0 ? nil : Int64(rng.next() % (32 << 30))
        let pod = try cluster.addPod(Builders.pod("p\(i)-\(j)", cpu: cpu, memory: memory))
        cluster.bind(pod, to: node)
      }
    }
    return cluster
  }

  /// The pods the scorers are asked about: none, small, huge and exact-fit requests.
  static func pods(_ cluster: Cluster, seed: UInt64) throws -> [PodInfo] {
    var rng = SplitMix64(seed: seed)
    var pods: [PodInfo] = []
    for k in 0..<40 {
      let cpu: Int64? = k % 5 == 0 ? nil : [0, 1, 100, 3_999, 64_000][k % 4] + Int64(k)
      let memory: Int64? = k % 7 == 0 ? nil : Int64(rng.next() % (64 << 30))
      let id = try cluster.addPod(Builders.pod("asking-\(k)", cpu: cpu, memory: memory))
      pods.append(PodInfo(id, in: cluster))
    }
    return pods
  }

  /// Upstream's LeastAllocated over CPU and memory (weights 1), in 128-bit integers.
  static func leastAllocated(_ c: Cluster, _ i: Int, _ pod: PodInfo) -> Int64 {
    let n = c.nodes
    var total: Int128 = 0
    var weights: Int128 = 0
    for (alloc, req) in [
      (n.allocatableCPU[i], n.nonZeroRequestedCPU[i] + pod.nonZeroCPU),
      (n.allocatableMemory[i], n.nonZeroRequestedMemory[i] + pod.nonZeroMemory),
    ] where alloc != 0 {
      total += req > alloc ? 0 : Int128(alloc - req) * 100 / Int128(alloc)
      weights += 1
    }
    return weights == 0 ? 0 : Int64(total / weights)
  }

  /// Upstream's BalancedAllocation over CPU and memory, in float64 as Go evaluates it.
  static func balanced(_ c: Cluster, _ i: Int, _ pod: PodInfo) -> Int64 {
    let n = c.nodes
    let (ac, am) = (n.allocatableCPU[i], n.allocatableMemory[i])
    if ac == 0 || am == 0 { return 100 }
    let fc = min(Double(n.requestedCPU[i] + pod.requestCPU) / Double(ac), 1)
    let fm = min(Double(n.requestedMemory[i] + pod.requestMemory) / Double(am), 1)
    let std = abs((fc - fm) / 2)
    return Int64((1 - std) * 100)
  }

  /// Every node's score by `plugin` (after its PreScore) for `pod`.
  static func scores(_ plugin: some ScorePlugin, _ cluster: Cluster, _ pod: PodInfo) -> [Int64] {
    let n = cluster.nodes.count
    let status = [UInt8](repeating: 0, count: n)
    var out = [Int64](repeating: -1, count: n)
    status.withUnsafeBufferPointer { st in
      _ = plugin.preScore(
        pod, cluster: cluster, window: Window(start: 0, length: n, nodeCount: n),
        status: st.baseAddress!)
      out.withUnsafeMutableBufferPointer {
        plugin.score(pod, cluster: cluster, rows: 0..<n, into: $0.baseAddress!)
      }
    }
    return out
  }

  @Test(
    "LeastAllocated and BalancedAllocation from the doubles equal upstream's formulas",
    arguments: [1, 2, 3] as [UInt64], [true, false])
  func scorersMatchUpstream(seed: UInt64, zeros: Bool) throws {
    let cluster = try Self.cluster(seed: seed, zeros: zeros)
    #expect(cluster.nodes.mirrorsAreExact)
    // Nodes without CPU or memory are counted; the kernels' all-positive forms run without.
    let lacking = cluster.nodes.nodesWithoutAllocatable
    #expect(zeros ? lacking.cpu > 0 && lacking.memory > 0 : lacking == (0, 0))
    let probe = try cluster.addPod(Builders.pod("probe", cpu: 1, memory: 1))
    let columns = cluster.resourceColumns(
      .memory, weight: 1, pod: PodInfo(probe, in: cluster), nonZero: false)
    #expect(columns?.doubles?.allPositive == !zeros)
    let fit = NodeResourcesFitPlugin(arguments: NodeResourcesFitArguments())
    let balanced = BalancedAllocationPlugin(arguments: BalancedAllocationArguments())
    var wrong = (fit: 0, balanced: 0)
    for pod in try Self.pods(cluster, seed: seed) {
      // The reciprocal forms are the ones in use for this cluster.
      #expect(
        cluster.resourceColumns(.cpu, weight: 1, pod: pod, nonZero: true)?.doubles != nil
          || pod.nonZeroCPU >= 1 << 46)
      let f = Self.scores(fit, cluster, pod)
      let b = Self.scores(balanced, cluster, pod)
      for i in 0..<cluster.nodes.count {
        if f[i] != Self.leastAllocated(cluster, i, pod) { wrong.fit += 1 }
        if b[i] != Self.balanced(cluster, i, pod) { wrong.balanced += 1 }
      }
    }
    #expect(wrong.fit == 0 && wrong.balanced == 0, "\(wrong)")
  }

  @Test("an allocatable of 2^44 or more turns the reciprocal forms off; scores stay upstream's")
  func largeAllocatableFallsBack() throws {
    let cluster = try Self.cluster(seed: 9, largest: (1 << 44) + 5)
    let pod = try Self.pods(cluster, seed: 9)[1]
    #expect(cluster.resourceColumns(.cpu, weight: 1, pod: pod, nonZero: true)?.doubles == nil)
    let f = Self.scores(
      NodeResourcesFitPlugin(arguments: NodeResourcesFitArguments()), cluster, pod)
    for i in 0..<cluster.nodes.count { #expect(f[i] == Self.leastAllocated(cluster, i, pod)) }
  }

  @Test("the doubles follow binds, unbinds, resizes, node updates, removals and reuse")
  func doublesFollowTheIntegers() throws {
    let cluster = try Self.cluster(seed: 4)
    var rng = SplitMix64(seed: 4)
    var bound: [PodID] = []
    for step in 0..<2_000 {
      let live = cluster.nodes.count
      let node = NodeID(UInt32(rng.nextInt(below: live)))
      switch rng.nextInt(below: 5) {
      case 0, 1:
        guard cluster.nodes.exists[node.index] != 0 else { continue }
        let pod = try cluster.addPod(
          Builders.pod("s\(step)", cpu: Int64(rng.nextInt(below: 500)), memory: 1 << 20))
        cluster.bind(pod, to: node)
        bound.append(pod)
      case 2:
        guard !bound.isEmpty else { continue }
        cluster.unbind(bound.remove(at: rng.nextInt(below: bound.count)))
      case 3:
        guard !bound.isEmpty else { continue }
        let pod = bound[rng.nextInt(below: bound.count)]
        let cpu = Int64(rng.nextInt(below: 900))
        cluster.resizePod(
          pod, requestCPU: cpu, requestMemory: 2 << 20, nonZeroCPU: max(cpu, 100),
          nonZeroMemory: 2 << 20)
      default:
        guard cluster.nodes.exists[node.index] != 0 else { continue }
        let spec = cluster.nodes.specs[node.index]
        // Now and then a node without requests of a resource loses all of it, and one
        // without regains some (the zero counts).
        let n = cluster.nodes
        let drop = (rng.nextInt(below: 8) == 0, rng.nextInt(below: 8) == 0)
        let cpu = spec.allocatable.cpuMillis + Int64(rng.nextInt(below: 1_000))
        let memory = spec.allocatable.memoryBytes + 1
        _ = cluster.updateNode(
          node,
          to: Builders.node(
            spec.name, cpu: drop.0 && n.requestedCPU[node.index] == 0 ? 0 : cpu,
            memory: drop.1 && n.requestedMemory[node.index] == 0 ? 0 : memory))
      }
    }
    #expect(cluster.invariantViolations().filter { "\($0)".contains("doubles") }.isEmpty)
    // Removing a node empties its row; a new node takes it.
    for (i, pod) in bound.enumerated() where i % 2 == 0 { cluster.unbind(pod) }
    let empty = (0..<cluster.nodes.count).first { cluster.nodes.podCount[$0] == 0 }!
    cluster.removeNode(NodeID(UInt32(empty)))
    _ = cluster.addNode(Builders.node("fresh", cpu: 12_345, memory: 6_789))
    #expect(cluster.invariantViolations().filter { "\($0)".contains("doubles") }.isEmpty)
    #expect(cluster.copy().invariantViolations().filter { "\($0)".contains("doubles") }.isEmpty)
  }

  @Test("the weighted sum's unit, narrow and wide products agree with plain arithmetic")
  func weightedSumProducts() {
    let n = 1_000
    var rng = SplitMix64(seed: 12)
    let columns = (0..<3).map { _ in
      (0..<n).map { _ in Int64(bitPattern: rng.next()) >> Int64(rng.nextInt(below: 64)) }
    }
    let status = (0..<n).map { _ in UInt8(rng.nextInt(below: 4) == 0 ? 1 : 0) }
    let kinds: [([Int64], Kernels.TermWeights)] = [
      ([1, 1, 1], .unit), ([3, 2, 1], .narrow), ([0, 1 << 31, 5], .narrow),
      ([1 << 33, 1, 2], .wide), ([-1], .wide),
    ]
    for (weights, kind) in kinds {
      let terms = weights.map { (column: UnsafePointer<Int64>(bitPattern: 8)!, weight: $0) }
      #expect(terms.withUnsafeBufferPointer { Kernels.TermWeights($0) } == kind, "\(weights)")
    }
    for weights: [Int64] in [
      [1, 1, 1], [1, 1], [3, 2, 1], [7], [0, 1 << 31, 5], [1 << 33, 1, 2], [],
    ] {
      for count in 0...weights.count {
        var total = [Int64](repeating: 0, count: n)
        let m = columns[0].withUnsafeBufferPointer { a in
          columns[1].withUnsafeBufferPointer { b in
            columns[2].withUnsafeBufferPointer { c in
              let bases = [a.baseAddress!, b.baseAddress!, c.baseAddress!]
              let terms = (0..<count).map { (column: bases[$0], weight: weights[$0]) }
              return terms.withUnsafeBufferPointer { t in
                status.withUnsafeBufferPointer { st in
                  total.withUnsafeMutableBufferPointer {
                    Kernels.weightedSum(
                      into: $0.baseAddress!, constant: 17, t, weights: Kernels.TermWeights(t),
                      status: st.baseAddress!, 0..<n)
                  }
                }
              }
            }
          }
        }
        var expected = Int64.min
        for i in 0..<n {
          var v: Int64 = 17
          for k in 0..<count { v &+= columns[k][i] &* weights[k] }
          if status[i] != 0 { v = .min }
          #expect(total[i] == v, "weights \(weights.prefix(count)), row \(i)")
          expected = max(expected, v)
        }
        #expect(m == expected)
      }
    }
  }
}
