/// One contiguous, growable column of plain values: the unit of struct-of-arrays storage.
///
/// A class so that every kernel reads one stable base pointer for a whole pass; the tables that
/// own columns are reference types with an explicit `copy()`.
public final class Column<Element: BitwiseCopyable> {
  /// First element. Stable until the next `append` that grows the column.
  @exclusivity(unchecked) public private(set) var base: UnsafeMutablePointer<Element>
  @exclusivity(unchecked) public private(set) var count: Int
  @exclusivity(unchecked) private var capacity: Int

  public init(repeating value: Element, count: Int) {
    precondition(count >= 0)
    capacity = max(count, 16)
    base = .allocate(capacity: capacity)
    base.initialize(repeating: value, count: count)
    self.count = count
  }


  deinit { base.deallocate() }

  @inlinable public subscript(i: Int) -> Element {
    get {
      precondition(i >= 0 && i < count, "column index out of range")
      return base[i]
    }
    set {
      precondition(i >= 0 && i < count, "column index out of range")
      base[i] = newValue
    }
  }

  public func append(_ value: Element) {
    if count == capacity { grow(to: capacity * 2) }
    base[count] = value
    count += 1
  }

  public func append(repeating value: Element, count extra: Int) {
    if count + extra > capacity { grow(to: max(capacity * 2, count + extra)) }
    (base + count).initialize(repeating: value, count: extra)
    count += extra
  }

  /// Sets every element to `value`.
  public func fill(_ value: Element) { base.update(repeating: value, count: count) }

  public func copy() -> Column<Element> {
    let c = Column(capacity: count)
    c.base.initialize(from: base, count: count)
    c.count = count
    return c
  }

  public var buffer: UnsafeMutableBufferPointer<Element> { .init(start: base, count: count) }

  public func toArray() -> [Element] { Array(buffer) }

  private init(capacity: Int) {
    self.capacity = max(capacity, 16)
    base = .allocate(capacity: self.capacity)
    count = 0
  }

  private func grow(to newCapacity: Int) {
    let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
    newBase.initialize(from: base, count: count)
    base.deallocate()
    base = newBase
    capacity = newCapacity
  }
}
