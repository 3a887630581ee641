import Dispatch
import Synchronization

/// A loop whose iterations run on several threads at once: each thread takes the next chunk of
/// indices when it finishes its last, so uneven iterations still keep every thread busy.
///
/// The iterations must be independent of each other; which thread runs which index is not
/// deterministic, so a caller keeps each iteration's result with its index and uses them in
/// index order afterwards (what makes a parallel phase repeat exactly).
public enum ParallelLoop {
  /// Runs `body(index, worker)` for every index in `0..<count` on up to `threads` threads
  /// (`worker` in `0..<threads` names the thread, for per-thread scratch space) and returns
  /// when all have run. One thread, or fewer than two chunks, runs them in order on the caller.
  public static func run(
    count: Int, threads: Int, chunk: Int, _ body: (_ index: Int, _ worker: Int) -> Void
  ) {
    precondition(chunk > 0, "a chunk needs at least one index")
    let workers = min(threads, (count + chunk - 1) / chunk)
    guard workers > 1 else {
      for i in 0..<count { body(i, 0) }
      return
    }
    let next = Atomic<Int>(0)
    // SAFETY: `concurrentPerform` returns only when every worker has, so the body outlives
    // its uses; each index is taken by exactly one worker.
    withoutActuallyEscaping(body) { body in
      nonisolated(unsafe) let body = body
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        while true {
          let start = next.add(chunk, ordering: .relaxed).oldValue
          guard start < count else { return }
          for i in start..<min(start + chunk, count) { body(i, worker) }
        }
      }
    }
  }
}
