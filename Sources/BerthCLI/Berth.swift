import ArgumentParser
public struct BerthCommand: ParsableCommand { public init() {} }
