import BerthAutoscaling
import BerthCore

/// An instance-type catalogue as CSV (`datasets/instance-types/`): the header
/// `name,family,arch,cpu,memoryGiB,gpus,maxPods,onDemandPricePerHour,zones`, optionally
/// followed by `spotPricePerHour`; one type per line, zones separated by `;`.
public enum InstanceCatalogueCSV {
  /// More is refused before it is read: a catalogue lists types, not instances.
  public static let maxRows = 10_000
  static let columns = [
    "name", "family", "arch", "cpu", "memorygib", "gpus", "maxpods", "ondemandpriceperhour",
    "zones",
  ]

  /// The types in file order. `spotPriceRatio` prices spot capacity for a catalogue without a
  /// spot column (nil: no spot offering).
  public static func parse(_ text: String, file: String, spotPriceRatio: Double? = nil)
    throws(InputError) -> [InstanceType]
  {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last == "" { lines.removeLast() }
    guard let header = lines.first else { throw InputError(file: file, "empty catalogue") }
    let names = header.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    let withSpot = names == columns + ["spotpriceperhour"]
    guard names == columns || withSpot else {
      throw InputError(
        file: file, line: 1,
        "expected the header name,family,arch,cpu,memoryGiB,gpus,maxPods,onDemandPricePerHour,zones[,spotPricePerHour], found \(Escaped(String(header)))"
      )
    }
    guard lines.count - 1 <= maxRows else {
      throw InputError(file: file, "more than \(maxRows) instance types")
    }
    var out: [InstanceType] = []
    var seen = Set<String>()
    for (i, raw) in lines.enumerated().dropFirst() {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      let cells = line.split(separator: ",", omittingEmptySubsequences: false).map {
        ClusterCSV.trimmed($0)
      }
      guard cells.count == names.count else {
        throw InputError(
          file: file, line: i + 1, "expected \(names.count) fields, found \(cells.count)")
      }
      func number(_ k: Int, _ range: ClosedRange<Double>) throws(InputError) -> Double {
        guard let x = Double(cells[k]), x.isFinite, range.contains(x) else {
          throw InputError(
            file: file, line: i + 1, field: columns[min(k, columns.count - 1)],
            "expected a number in \(range.lowerBound)…\(range.upperBound), found \(Escaped(cells[k]))"
          )
        }
        return x
      }
      let name = cells[0]
      guard !name.isEmpty, name.utf8.count <= 63, seen.insert(name).inserted else {
        throw InputError(
          file: file, line: i + 1, field: "name",
          name.isEmpty ? "an empty name" : "duplicate or overlong instance type \(Escaped(name))")
      }
      guard ["amd64", "arm64"].contains(cells[2]) else {
        throw InputError(
          file: file, line: i + 1, field: "arch",
          "expected amd64 or arm64, found \(Escaped(cells[2]))")
      }
      let zones = cells[8].split(separator: ";").map(String.init).filter { !$0.isEmpty }
      guard !zones.isEmpty, zones.count <= 64 else {
        throw InputError(
          file: file, line: i + 1, field: "zones", "expected 1…64 zones separated by ;")
      }
      let onDemand = try number(7, 0...1e6)
      var spot = spotPriceRatio.map { onDemand * $0 }
      if withSpot {
        spot = cells[9].isEmpty ? nil : try number(9, 0...1e6)
      }
      out.append(
        InstanceType(
          name: name, family: cells[1], arch: cells[2],
          cpuMillis: Int64(try number(3, 0.001...100_000) * 1000),
          memoryBytes: Int64(try number(4, 0.001...1_000_000) * 1_073_741_824),
          gpus: Int64(try number(5, 0...64)), maxPods: Int64(try number(6, 1...10_000)),
          onDemandPricePerHour: onDemand, spotPricePerHour: spot, zones: zones))
    }
    guard !out.isEmpty else { throw InputError(file: file, "no instance types after the header") }
    return out
  }
}
