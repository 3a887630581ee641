import CBerthSystem
import Foundation
import Synchronization

/// A second thread for a scheduling cycle's long passes: it spins on a flag between jobs, so a
/// job posted a few microseconds after the last one starts within a cache-line transfer, and
/// parks on a condition variable after a while with nothing to do (a thread woken per job, or
/// a dispatch per pod, costs more than a 15,000-node pass gains from a second core).
///
/// A job is `forEach(count, body)`: the caller takes items `0..<count` one at a time from the
/// front, the worker from the back, until they meet. A worker that comes late (descheduled,
/// parked) leaves its share to the caller instead of holding the cycle up, a job the caller
/// finished before the worker arrived is closed to it, and consecutive jobs over the same rows
/// give each thread mostly the same rows, still in its own cache. Items must write disjoint
/// memory; which thread runs an item never changes what it writes, so results are the same
/// with one thread or two.
///
/// One worker serves the whole process: a caller that finds it busy with another caller (two
/// experiments run in parallel) runs its items alone.
public final class SpinningWorker: @unchecked Sendable {
  /// The process's worker, its thread started on first use.
  public static let shared = SpinningWorker()

  /// Empty spins before the worker parks: about a millisecond, far longer than the gaps
  /// between one cycle's jobs, short enough that an idle process leaves the core alone.
  static let spinsBeforeParking = 16_384

  // The job's states: `idle` → `posted` (by the caller) → `running` (the worker entered) →
  // `finished` (the worker left) → `idle` (the caller saw it leave); or `posted` → `idle` when
  // the caller finished every item before the worker entered.
  private static let idle = 0
  private static let posted = 1
  private static let running = 2
  private static let finished = 3

  private let state = Atomic<Int>(0)
  /// The items not yet taken, `front..<back`, as `back << 32 | front`.
  private let untaken = Atomic<UInt64>(0)
  /// Set by one caller for the length of its job: the worker serves one caller at a time.
  private let claimed = Atomic<Bool>(false)
  /// Set while the worker waits on `wakeUp`.
  private let parked = Atomic<Bool>(false)
  private let wakeUp = NSCondition()
  /// The posted job: written by the caller before `posted`, read by the worker after entering.
  private var job: ((Int) -> Void)?

  private init() {
    let thread = Thread { [unowned self] in self.serve() }
    thread.name = "berth-worker"
    thread.stackSize = 1 << 20
    thread.start()
  }

  /// Runs `body(i)` for every i in `0..<count`, on the calling thread and the worker; returns
  /// when every call has returned. Calls may run in any order and at the same time.
  public func forEach(_ count: Int, _ body: (Int) -> Void) {
    guard count > 1, count <= Int(UInt32.max),
      claimed.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { body in
      job = body
      untaken.store(UInt64(count) << 32, ordering: .relaxed)
      state.store(Self.posted, ordering: .sequentiallyConsistent)
      // Paired with `park`: either the worker sees `posted` before it waits, or this sees it
      // parked and wakes it.
      if parked.load(ordering: .sequentiallyConsistent) {
        wakeUp.lock()
        wakeUp.signal()
        wakeUp.unlock()
      }
      runItems(body, fromFront: true)
      let closed = state.compareExchange(
        expected: Self.posted, desired: Self.idle, ordering: .acquiringAndReleasing
      ).exchanged
      if !closed {
        // The worker entered: its last item may still be running.
        while state.load(ordering: .acquiring) != Self.finished { berth_cpu_relax() }
        state.store(Self.idle, ordering: .relaxed)
      }
      // The worker holds no reference to the closure any more (see `runPostedJob`).
      job = nil
    }
    claimed.store(false, ordering: .releasing)
  }

  /// Takes items from one end until none is left.
  @inline(__always) private func runItems(_ body: (Int) -> Void, fromFront: Bool) {
    var seen = untaken.load(ordering: .relaxed)
    while true {
      let front = seen & 0xFFFF_FFFF
      let back = seen >> 32
      if front >= back { return }
      let taken = fromFront ? seen &+ 1 : seen &- (1 << 32)
      let (exchanged, now) = untaken.weakCompareExchange(
        expected: seen, desired: taken, ordering: .relaxed)
      if exchanged {
        body(Int(fromFront ? front : back &- 1))
        seen = untaken.load(ordering: .relaxed)
      } else {
        seen = now
      }
    }
  }

  private func serve() {
    var spins = 0
    while true {
      guard state.load(ordering: .acquiring) == Self.posted else {
        spins += 1
        if spins < Self.spinsBeforeParking {
          berth_cpu_relax()
        } else {
          park()
          spins = 0
        }
        continue
      }
      spins = 0
      guard
        state.compareExchange(
          expected: Self.posted, desired: Self.running, ordering: .acquiring
        ).exchanged
      else { continue }
      runPostedJob()
      state.store(Self.finished, ordering: .releasing)
    }
  }

  /// Runs the posted job's items. Not inlined, so the worker's copy of the closure is released
  /// when this returns — before `finished` lets the caller end `withoutActuallyEscaping`, which
  /// traps if the closure is still referenced.
  @inline(never) private func runPostedJob() {
    guard let body = job else { return }
    runItems(body, fromFront: false)
  }

  private func park() {
    wakeUp.lock()
    parked.store(true, ordering: .sequentiallyConsistent)
    while state.load(ordering: .sequentiallyConsistent) != Self.posted { wakeUp.wait() }
    parked.store(false, ordering: .relaxed)
    wakeUp.unlock()
  }
}
