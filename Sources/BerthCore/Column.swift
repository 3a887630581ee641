/// One contiguous, growable column of plain values: the unit of struct-of-arrays storage.
///
/// A class so that every kernel reads one stable base pointer for a whole pass; the tables that
/// own columns are reference types with an explicit `copy()`.
public final class Column<Element: BitwiseCopyable> {
  // Stored behind inlinable getters: a client module's direct read of a stored class property
  // gets a dynamic exclusivity check whatever the attribute says, the getter's inlined body
  // keeps the attribute.
  @usableFromInline @exclusivity(unchecked) var storage: UnsafeMutablePointer<Element>
  @usableFromInline @exclusivity(unchecked) var rows: Int

  /// First element. Stable until the next `append` that grows the column.
  @inlinable public var base: UnsafeMutablePointer<Element> { storage }
  @inlinable public var count: Int { rows }
  @exclusivity(unchecked) private var capacity: Int

  public init(repeating value: Element, count: Int) {
    precondition(count >= 0)
    capacity = max(count, 16)
    storage = .allocate(capacity: capacity)
    storage.initialize(repeating: value, count: count)
    rows = count
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
    rows += 1
  }

  public func append(repeating value: Element, count extra: Int) {
    if count + extra > capacity { grow(to: max(capacity * 2, count + extra)) }
    (base + count).initialize(repeating: value, count: extra)
    rows += extra
  }

  /// Sets every element to `value`.
  public func fill(_ value: Element) { base.update(repeating: value, count: count) }

  public func copy() -> Column<Element> {
    let c = Column(capacity: count)
    c.base.initialize(from: base, count: count)
    c.rows = count
    return c
  }

  public var buffer: UnsafeMutableBufferPointer<Element> { .init(start: base, count: count) }

  private init(capacity: Int) {
    self.capacity = max(capacity, 16)
    storage = .allocate(capacity: self.capacity)
    rows = 0
  }

  private func grow(to newCapacity: Int) {
    let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
    newBase.initialize(from: base, count: count)
    base.deallocate()
    storage = newBase
    capacity = newCapacity
  }
}
