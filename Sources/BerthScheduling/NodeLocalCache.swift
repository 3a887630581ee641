import BerthCore
import CBerthSystem

/// One bit per node row, set while the row's cached result is current: a view into storage a
/// `NodeLocalCache` owns.
///
/// A cycle clears the bits of the rows the node journal names as changed, and brings a range up
/// to date by computing only the runs of clear bits in it — one test per 64 rows, so a window of
/// a thousand rows costs sixteen tests when nothing in it changed.
struct RowBitmap {
  let words: UnsafeMutablePointer<UInt64>

  func clear(_ row: Int) {
    // SAFETY: `row` is a node row, and the bitmap has a bit per node row (NodeLocalCache.sync).
    assert(row >= 0, "a negative row")
    words[row >> 6] &= ~(1 &<< UInt64(row & 63))
  }

  /// Bits `lo..<hi` of a word (0 ≤ lo < hi ≤ 64).
  @inline(__always) private static func mask(_ lo: Int, _ hi: Int) -> UInt64 {
    (hi == 64 ? ~0 : (1 &<< UInt64(hi)) &- 1) & ~((1 &<< UInt64(lo)) &- 1)
  }

  /// Calls `compute` on runs of rows that together cover every clear row of `rows`, then sets
  /// the bits of those runs. Clear rows less than a word apart share a run, so a range with no
  /// current row is computed in one call and a few scattered changes cost a few short calls.
  @inline(__always)
  func refresh(_ rows: Range<Int>, _ compute: (Range<Int>) -> Void) {
    // SAFETY: `rows` is a chunk of the node table, and the bitmap has a bit per node row.
    assert(rows.lowerBound >= 0, "a negative row")
    guard !rows.isEmpty else { return }
    var run = 0..<0
    for word in (rows.lowerBound >> 6)...((rows.upperBound - 1) >> 6) {
      let base = word << 6
      let wanted = RowBitmap.mask(max(rows.lowerBound - base, 0), min(rows.upperBound - base, 64))
      let missing = wanted & ~berth_load_word(words + word)
      if missing == 0 { continue }
      let lo = base + missing.trailingZeroBitCount
      let hi = base + 64 - missing.leadingZeroBitCount
      if !run.isEmpty && lo - run.upperBound < 64 {
        run = run.lowerBound..<hi
      } else {
        if !run.isEmpty { settle(run, compute) }
        run = lo..<hi
      }
    }
    if !run.isEmpty { settle(run, compute) }
  }

  /// Computes `run` and sets its bits. A split pass's chunks start at multiples of 64 rows
  /// within a segment, but the two segments of a window that wraps around meet anywhere: the
  /// word at either end of a run may be another thread's too, so those two take their bits
  /// atomically; the words between belong to this run alone.
  @inline(__always) private func settle(_ run: Range<Int>, _ compute: (Range<Int>) -> Void) {
    compute(run)
    let (first, last) = (run.lowerBound >> 6, (run.upperBound - 1) >> 6)
    for word in first...last {
      let base = word << 6
      let bits = RowBitmap.mask(max(run.lowerBound - base, 0), min(run.upperBound - base, 64))
      if word == first || word == last {
        berth_set_bits(words + word, bits)
      } else {
        words[word] |= bits
      }
    }
  }
}

/// What the scheduler keeps across cycles for node-local plugins — those whose per-row answer
/// is a function of the pod's shape (`PodShape`) and that node's own state: each cacheable
/// filter's verdict per row, and which rows' verdicts and node-local scores (kept in the
/// scheduler's score columns) are still current.
///
/// Everything is forgotten when the pod shape or the node shape (`Cluster.nodeShapeVersion`: a
/// node added or updated — an image's spread moves every holder's score) changes; between cycles
/// only the rows the node journal names lose their bits. A journal that overflowed since the
/// last cycle empties the cache too.
final class NodeLocalCache {
  /// Cacheable filters; slot s of `verdicts` and of the verdict bitmaps belongs to the s-th.
  let filterSlots: Int
  @exclusivity(unchecked) private(set) var rows = 0
  @exclusivity(unchecked) private var wordsPerBitmap = 0
  @exclusivity(unchecked) private var verdictStore: UnsafeMutablePointer<UInt8>
  /// `filterSlots` verdict bitmaps, then the scores' bitmap.
  @exclusivity(unchecked) private var bitStore: UnsafeMutablePointer<UInt64>
  @exclusivity(unchecked) private var shape: PodShape?
  @exclusivity(unchecked) private var nodeShape: UInt64 = .max
  @exclusivity(unchecked) private var journalCursor: UInt64 = 0

  init(filterSlots: Int) {
    // SAFETY: one-element stores until the first `sync` sizes them; nothing reads them before.
    self.filterSlots = filterSlots
    verdictStore = .allocate(capacity: 1)
    bitStore = .allocate(capacity: 1)
  }

  deinit {
    // SAFETY: the cache owns both stores alone.
    verdictStore.deallocate()
    bitStore.deallocate()
  }

  /// Slot `s`'s verdicts: 1 where the filter rejects the row.
  @inline(__always) func verdicts(_ s: Int) -> UnsafeMutablePointer<UInt8> {
    // SAFETY: slot s of `filterSlots` owns rows s·rows ..< (s+1)·rows of the verdict store.
    assert(s >= 0 && s < filterSlots, "no such verdict slot")
    return verdictStore + s * rows
  }
  @inline(__always) func verdictBits(_ s: Int) -> RowBitmap {
    // SAFETY: bitmap s of `filterSlots + 1` owns `wordsPerBitmap` words of the bit store.
    assert(s >= 0 && s < filterSlots, "no such verdict slot")
    return RowBitmap(words: bitStore + s * wordsPerBitmap)
  }
  @inline(__always) var scoreBits: RowBitmap {
    RowBitmap(words: bitStore + filterSlots * wordsPerBitmap)
  }

  /// Empties the node-local scores' bitmap alone (the set of cached score plugins changed).
  // SAFETY: the score bitmap is the last of `filterSlots + 1`, each `wordsPerBitmap` words.
  func forgetScores() { scoreBits.words.update(repeating: 0, count: wordsPerBitmap) }

  // SAFETY: the bit store holds `(filterSlots + 1) * wordsPerBitmap` words.
  private func forgetAll() {
    bitStore.update(repeating: 0, count: (filterSlots + 1) * wordsPerBitmap)
  }

  /// Makes the cache describe `shape` on the cluster's current nodes: empties it for a new pod
  /// or node shape, else clears the rows changed since the last call.
  /// - Returns: whether the cache is empty now (nothing in it can be reused this cycle).
  @discardableResult
  func sync(_ shape: PodShape, cluster: Cluster) -> Bool {
    let nodes = cluster.nodes
    let n = nodes.count
    let changes = nodes.changeCount
    if n != rows {
      verdictStore.deallocate()
      bitStore.deallocate()
      rows = n
      wordsPerBitmap = (n + 63) >> 6
      verdictStore = .allocate(capacity: max(filterSlots * n, 1))
      verdictStore.initialize(repeating: 0, count: max(filterSlots * n, 1))
      bitStore = .allocate(capacity: max((filterSlots + 1) * wordsPerBitmap, 1))
      bitStore.initialize(repeating: 0, count: max((filterSlots + 1) * wordsPerBitmap, 1))
      self.shape = shape
      nodeShape = cluster.nodeShapeVersion
      journalCursor = changes
      return true
    }
    if shape != self.shape || nodeShape != cluster.nodeShapeVersion {
      forgetAll()
      self.shape = shape
      nodeShape = cluster.nodeShapeVersion
      journalCursor = changes
      return true
    }
    guard changes != journalCursor else { return false }
    if changes &- journalCursor > UInt64(NodeTable.journalCapacity) {
      forgetAll()
      journalCursor = changes
      return true
    } else {
      // SAFETY: the journal is a ring of `journalCapacity` entries indexed modulo its size, each a
      // node row below `rows` (the node count, unchanged since the check above).
      let journal = UnsafePointer(nodes.journal.base)
      assert(nodes.journal.count >= NodeTable.journalCapacity, "journal shorter than its ring")
      for c in journalCursor..<changes {
        let row = Int(journal[Int(c % UInt64(NodeTable.journalCapacity))])
        assert(row >= 0 && row < rows, "a journal entry outside the node table")
        for s in 0...filterSlots { RowBitmap(words: bitStore + s * wordsPerBitmap).clear(row) }
      }
    }
    journalCursor = changes
    return false
  }
}
