import Testing

@testable import BerthTraces

/// The load-series reader's limits.
struct LoadSeriesCSVTests {
  @Test func aSeriesSpansAtMostTenYears() throws {
    let ok = try LoadSeriesCSV.parse("time,value\n0,1\n315000000,2\n", file: "s.csv")
    #expect(ok.count == 2)
    #expect(throws: InputError.self) {
      try LoadSeriesCSV.parse("time,value\n0,1.2\n05166666669.,105\n", file: "s.csv")
    }
    do {
      _ = try LoadSeriesCSV.parse("time,value\n0,1\n400000000,2\n", file: "s.csv")
      Issue.record("accepted a 12-year series")
    } catch {
      #expect(error.description.contains("s.csv:3"))
      #expect(error.description.contains("more than 10 years"))
    }
  }
}
