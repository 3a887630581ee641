/// A short reusable list the scheduler rebuilds every cycle (active filters, score plugin
/// groups, summed terms), in storage it frees itself: iterating an array property retains its
/// buffer, and a cycle walks these lists a dozen times.
struct ScratchList<Element: BitwiseCopyable>: RandomAccessCollection {
  private(set) var base: UnsafeMutablePointer<Element>
  private(set) var count = 0
  private var capacity: Int

  init(capacity: Int = 16) {
    self.capacity = Swift.max(capacity, 1)
    base = .allocate(capacity: self.capacity)
  }

  /// Frees the storage; the list must not be used afterwards.
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
      grown.update(from: base, count: count)
      base.deallocate()
      base = grown
      capacity *= 2
    }
    base[count] = e
    count += 1
  }

  mutating func removeAll() { count = 0 }

  /// The elements as a buffer, for kernels taking a buffer.
  var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }
}
