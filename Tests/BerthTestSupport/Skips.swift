import Foundation
import Synchronization

/// Tests that need material outside the repository (`../shared`: the kube-scheduler oracle, the
/// openb trace) are skipped without it. Swift Testing announces each skip when it plans the
/// run, far above its last line; this ledger counts them and, when the test process exits (after
/// Swift Testing's summary), prints how many were skipped and why.
///
///     @Test("…", .enabled(if: Skips.unless(Oracle.isAvailable, "needs ../shared/oracles")))
public enum Skips {
  private static let ledger = Mutex<[String: Int]>([:])
  private static let registered = Atomic<Bool>(false)

  /// `condition`, counting one skip under `reason` when it is false.
  public static func unless(_ condition: Bool, _ reason: String) -> Bool {
    guard !condition else { return true }
    ledger.withLock { $0[reason, default: 0] += 1 }
    if registered.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
      atexit { Skips.printSummary() }
    }
    return false
  }

  /// One line per reason, in a stable order.
  public static var summary: [String] {
    ledger.withLock { counts in
      counts.sorted { $0.key < $1.key }.map { "\($0.value) test(s) skipped: \($0.key)" }
    }
  }

  private static func printSummary() {
    let lines = summary
    guard !lines.isEmpty else { return }
    let total = ledger.withLock { $0.values.reduce(0, +) }
    var text =
      "\n\(total) test(s) were skipped because material beside the repository is missing:\n"
    for line in lines { text += "  " + line + "\n" }
    text += "  (clone or copy the shared material to ../shared to run them)\n"
    FileHandle.standardOutput.write(Data(text.utf8))
  }
}
