import Foundation

/// Heap allocation counts from the LD_PRELOAD shim in Benchmarks/MallocCounter, when loaded.
enum MallocCount {
  private typealias Counter = @convention(c) () -> Int
  private static let counter: Counter? = {
    guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "berth_malloc_count")
    else {
      return nil
    }
    return unsafeBitCast(symbol, to: Counter.self)
  }()

  /// Allocations so far, or nil when the shim is not loaded.
  static func current() -> Int? { counter?() }
}
