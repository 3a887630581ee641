import BerthTraces
import Foundation

/// What a sweep's partial result says about itself (`manifest.json`): the sweep, the inputs it
/// read and their checksums, the Berth build that ran it, the shard and the runs it holds. A
/// merge compares these before it reads one record, so results of different sweeps, inputs or
/// builds never mix. No clock, host or path outside the sweep is recorded: the same shard run
/// twice writes the same bytes.
public struct SweepManifest: Codable, Equatable, Sendable {
  /// An input as the sweep names it, with its size and FNV-1a checksum (a folder: over its
  /// YAML files' names and bytes, in name order).
  public struct Input: Codable, Equatable, Sendable {
    public var name: String
    public var bytes: Int
    public var fnv1a64: String
    public init(name: String, bytes: Int, fnv1a64: String) {
      self.name = name
      self.bytes = bytes
      self.fnv1a64 = fnv1a64
    }
  }

  /// The build that ran the shard.
  public struct Build: Codable, Equatable, Sendable {
    public var version: String
    /// The source commit it was built from (`unknown` when built outside a git checkout).
    public var commit: String
    /// The executable's GNU build ID (`unknown` without one): two builds of one commit with
    /// different flags differ.
    public var buildID: String
    public init(version: String, commit: String, buildID: String) {
      self.version = version
      self.commit = commit
      self.buildID = buildID
    }
  }

  public struct Shard: Codable, Equatable, Sendable {
    public var index: Int
    public var count: Int
    public init(index: Int, count: Int) {
      self.index = index
      self.count = count
    }
  }

  /// Bumped when the partial's layout changes.
  public static let currentFormat = 1

  public var format: Int
  public var sweep: String
  public var experiment: String
  /// FNV-1a over the sweep's meaning (name, experiment, settings, axes), not its formatting.
  public var sweepChecksum: String
  /// The axes, as the grid enumerates them (run k's values are `SweepGrid.run(k)`).
  public var axes: [SweepGrid.Axis]
  /// `autoscale-compare`: the scenario's name, as its reports show it.
  public var scenario: String?
  public var inputs: [Input]
  public var berth: Build
  public var shard: Shard
  public var totalRuns: Int
  /// The runs this partial holds, ascending.
  public var runs: [Int]

  public init(
    sweep: String, experiment: String, sweepChecksum: String, axes: [SweepGrid.Axis],
    scenario: String?, inputs: [Input], berth: Build, shard: Shard, totalRuns: Int, runs: [Int]
  ) {
    format = Self.currentFormat
    self.sweep = sweep
    self.experiment = experiment
    self.sweepChecksum = sweepChecksum
    self.axes = axes
    self.scenario = scenario
    self.inputs = inputs
    self.berth = berth
    self.shard = shard
    self.totalRuns = totalRuns
    self.runs = runs
  }

  public func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Every field is a string, an integer or an array of them: encoding cannot fail.
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
  }

  /// At most this many bytes in a manifest (ten million run numbers fit well within it).
  public static let maxBytes = 256 << 20

  /// Reads a manifest strictly: malformed JSON, a missing or mistyped field, a format this build
  /// does not know, or runs that are not ascending run numbers below `totalRuns` fail with one
  /// line naming the file.
  public static func parse(_ data: Data, file: String) throws(InputError) -> SweepManifest {
    guard data.count <= maxBytes else {
      throw InputError(file: file, "more than \(maxBytes) bytes: not a sweep manifest")
    }
    let m: SweepManifest
    do {
      m = try JSONDecoder().decode(SweepManifest.self, from: data)
    } catch let DecodingError.keyNotFound(key, _) {
      throw InputError(file: file, field: key.stringValue, "missing (not a sweep manifest?)")
    } catch let DecodingError.typeMismatch(_, context) {
      throw InputError(file: file, field: path(context), "has the wrong type")
    } catch let DecodingError.valueNotFound(_, context) {
      throw InputError(file: file, field: path(context), "is null")
    } catch {
      throw InputError(file: file, "not valid JSON (not a sweep manifest?)")
    }
    guard m.format == currentFormat else {
      throw InputError(
        file: file, field: "format",
        "\(m.format) was written by another Berth (this one reads \(currentFormat))")
    }
    let grid: SweepGrid
    do throws(SweepGrid.Problem) {
      grid = try SweepGrid(axes: m.axes)
    } catch {
      throw InputError(file: file, field: "axes", error.description)
    }
    guard grid.count == m.totalRuns else {
      throw InputError(
        file: file, field: "totalRuns", "\(m.totalRuns), but the axes make \(grid.count) runs")
    }
    guard m.shard.count >= 1, m.shard.count <= SweepShard.maxCount, m.shard.index >= 0,
      m.shard.index < m.shard.count
    else {
      throw InputError(
        file: file, field: "shard", "expected 0 ≤ index < count ≤ \(SweepShard.maxCount)")
    }
    var previous = -1
    for r in m.runs {
      guard r > previous, r < m.totalRuns else {
        throw InputError(
          file: file, field: "runs",
          "expected ascending run numbers below \(m.totalRuns), found \(r)")
      }
      previous = r
    }
    return m
  }

  private static func path(_ context: DecodingError.Context) -> String {
    context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
      .trimmingPrefix(".").description
  }
}
