import BerthCore

/// Pods split into groups — each autoscaler's pods — with O(1) membership changes: per group
/// its pods (in no particular order), per pod row its group and place in it.
struct PodGroups {
  private(set) var members: [[PodID]]
  /// Per pod row: its group (-1: none) and its index in that group's list.
  private var groupOf: [Int32] = []
  private var position: [Int32] = []

  init(groups: Int) { members = Array(repeating: [], count: groups) }

  /// The group of `pod`, if any.
  func group(of pod: PodID) -> Int? {
    guard pod.index < groupOf.count, groupOf[pod.index] >= 0 else { return nil }
    return Int(groupOf[pod.index])
  }

  /// Puts `pod` (in no group) into group `g`.
  mutating func add(_ pod: PodID, to g: Int) {
    while groupOf.count <= pod.index {
      groupOf.append(-1)
      position.append(-1)
    }
    precondition(groupOf[pod.index] < 0, "a pod joins one group at a time")
    groupOf[pod.index] = Int32(g)
    position[pod.index] = Int32(members[g].count)
    members[g].append(pod)
  }

  /// Takes `pod` out of its group (nothing if it has none): the group's last pod takes its place.
  mutating func remove(_ pod: PodID) {
    guard let g = group(of: pod) else { return }
    let k = Int(position[pod.index])
    let last = members[g].removeLast()
    if last != pod {
      members[g][k] = last
      position[last.index] = Int32(k)
    }
    groupOf[pod.index] = -1
    position[pod.index] = -1
  }
}
