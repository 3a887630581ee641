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
  @usableFromInline @exclusivity(unchecked) var capacity: Int

  // Inlinable, so the copies of `value` specialise into stores: the generic body copies each
  // element through the type's value witness.
  @inlinable public init(repeating value: Element, count: Int) {
    precondition(count >= 0, "a negative count of rows")
    capacity = max(count, 16)
    storage = Self.allocate(capacity)
    // SAFETY: capacity ≥ count.
    storage.initialize(repeating: value, count: count)
    rows = count
  }

  // SAFETY: the column owns its storage alone; nothing reads it after deinit.
  deinit { UnsafeMutableRawPointer(base).deallocate() }

  /// Storage for `capacity` elements starting on a cache line: a kernel's vector loads then
  /// never straddle two lines (malloc's 16-byte alignment split every other 32-byte load, a
  /// third slower in a LeastAllocated pass).
  @inlinable static func allocate(_ capacity: Int) -> UnsafeMutablePointer<Element> {
    // SAFETY: fresh storage of `capacity` elements, bound to the element type before use.
    UnsafeMutableRawPointer.allocate(
      byteCount: capacity * MemoryLayout<Element>.stride, alignment: 64
    ).bindMemory(to: Element.self, capacity: capacity)
  }

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
    // SAFETY: count < capacity after growing; the storage holds `capacity` elements.
    assert(count < capacity, "no room after growing")
    base[count] = value
    rows += 1
  }

  public func append(repeating value: Element, count extra: Int) {
    precondition(extra >= 0, "a negative count of rows")
    if count + extra > capacity { grow(to: max(capacity * 2, count + extra)) }
    // SAFETY: count + extra ≤ capacity after growing.
    assert(count + extra <= capacity, "no room after growing")
    (base + count).initialize(repeating: value, count: extra)
    rows += extra
  }

  /// Makes room for `extra` more rows without growing again.
  public func reserve(_ extra: Int) {
    if count + extra > capacity { grow(to: count + extra) }
  }

  /// Sets every element to `value`.
  @inlinable public func fill(_ value: Element) {
    // SAFETY: the first `count` elements are initialised.
    base.update(repeating: value, count: count)
  }

  /// Makes the column `count` rows of `value`, in its own storage when that holds them.
  @inlinable public func reset(count newCount: Int, to value: Element) {
    precondition(newCount >= 0, "a negative count of rows")
    if newCount > capacity {
      // SAFETY: the old storage is the column's alone; the new one holds `newCount` or more.
      UnsafeMutableRawPointer(base).deallocate()
      capacity = max(newCount, capacity * 2)
      storage = Self.allocate(capacity)
    }
    // SAFETY: capacity ≥ newCount; the elements are plain values (BitwiseCopyable).
    storage.initialize(repeating: value, count: newCount)
    rows = newCount
  }

  public func copy() -> Column<Element> {
    let c = Column(capacity: count)
    // SAFETY: the new column's capacity is at least `count`; this one's first `count` are set.
    c.base.initialize(from: base, count: count)
    c.rows = count
    return c
  }

  public var buffer: UnsafeMutableBufferPointer<Element> { .init(start: base, count: count) }

  private init(capacity: Int) {
    // SAFETY: storage of `capacity` elements, none initialised until rows are appended.
    self.capacity = max(capacity, 16)
    storage = Self.allocate(self.capacity)
    rows = 0
  }

  private func grow(to newCapacity: Int) {
    precondition(newCapacity >= count, "shrinking below the rows held")
    let newBase = Self.allocate(newCapacity)
    // SAFETY: newCapacity ≥ count; the old storage's first `count` elements are initialised.
    newBase.initialize(from: base, count: count)
    UnsafeMutableRawPointer(base).deallocate()
    storage = newBase
    capacity = newCapacity
  }
}
