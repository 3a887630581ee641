/// A short reusable list the scheduler rebuilds every cycle (active filters, score plugin
/// groups, summed terms), in storage it frees itself: iterating an array property retains its
/// buffer, and a cycle walks these lists a dozen times.
struct ScratchList<Element: BitwiseCopyable>: RandomAccessCollection {
  private(set) var base: UnsafeMutablePointer<Element>
  private(set) var count = 0
  private var capacity: Int

  init(capacity: Int = 16) {
    // SAFETY: storage of `capacity` ≥ 1 elements, none read before it is appended.
    self.capacity = Swift.max(capacity, 1)
    base = .allocate(capacity: self.capacity)
  }

  /// Frees the storage; the list must not be used afterwards.
  // SAFETY: the owner calls this once, in its deinit.
  func deallocate() { base.deallocate() }

  var startIndex: Int { 0 }
  var endIndex: Int { count }
  subscript(i: Int) -> Element {
    precondition(i >= 0 && i < count, "scratch list index out of range")
    return base[i]
  }

  mutating func append(_ e: Element) {
    if count == capacity {
      let grown = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
      // SAFETY: the new storage holds twice the `count` elements copied (plain values).
      grown.update(from: base, count: count)
      base.deallocate()
      base = grown
      capacity *= 2
    }
    // SAFETY: count < capacity here (grown above when full).
    assert(count < capacity, "no room after growing")
    base[count] = e
    count += 1
  }

  mutating func removeAll() { count = 0 }

  /// The elements as a buffer, for kernels taking a buffer.
  var buffer: UnsafeBufferPointer<Element> {
    // SAFETY: the first `count` elements are set; the buffer is used before the next append.
    UnsafeBufferPointer(start: base, count: count)
  }
}
