import BerthCore
import BerthEngine
import BerthTraces

/// The scenario's actions, each at its virtual time (equal times in the order written): what a
/// user would do with kubectl, done through the same operations the controllers use.
final class ActionRunner: Component {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation

  init(_ sim: Simulation) { self.sim = sim }

  var name: String { "scenario-actions" }

  func start(_ engine: Engine) {
    for (k, a) in sim.scenario.actions.enumerated() {
      engine.schedule(self, at: a.at, payload: UInt64(k))
    }
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let action = sim.scenario.actions[Int(t.payload)]
    do throws(InputError) {
      try perform(action)
    } catch {
      sim.recorder.event(
        kind: "Scenario", namespace: "-", name: sim.scenario.name, type: .warning,
        reason: "ActionFailed", message: "\(action.verb.name) at \(action.origin): \(error.message)"
      )
    }
  }

  private func announce(_ ref: ObjectReference, _ action: ScenarioAction, _ detail: String) {
    sim.recorder.event(
      kind: ref.kind, namespace: ref.namespace, name: ref.name, type: .normal,
      reason: "ScenarioAction", message: "\(action.verb.name)\(detail.isEmpty ? "" : " ")\(detail)")
  }

  private func nodeAction(_ name: String, _ action: ScenarioAction) throws(InputError) -> Int {
    guard let n = sim.nodes.node(named: name) else {
      throw InputError(file: action.origin, "no node named \(name)")
    }
    announce(ObjectReference(kind: "Node", namespace: "", name: name), action, "")
    return n
  }

  /// The current document of a workload object.
  private func document(_ ref: ObjectReference, _ action: ScenarioAction) throws(InputError)
    -> ObjectDocument
  {
    guard let c = sim.controller(of: ref.kind),
      let i = c.find(namespace: ref.namespace, name: ref.name), let d = c.document(i)
    else { throw InputError(file: action.origin, "no \(ref) exists at \(sim.now)") }
    return d
  }

  /// Applies a changed document: read again (so errors name the action), then applied.
  private func patch(
    _ ref: ObjectReference, _ action: ScenarioAction, _ change: (inout ObjectDocument) -> Void
  ) throws(InputError) {
    var doc = try document(ref, action)
    change(&doc)
    let object = try WorkloadObject.read(
      doc, origin: "\(action.origin) (\(action.verb.name) \(ref))")
    if case .job(let j) = object, let i = sim.jobs.find(namespace: ref.namespace, name: ref.name),
      j.template.identity != sim.jobs.jobs[i].object.template.identity
    {
      throw InputError(file: action.origin, "\(ref): spec.template is immutable")
    }
    sim.apply(object)
  }

  private func perform(_ action: ScenarioAction) throws(InputError) {
    switch action.verb {
    case .apply(let doc):
      let object = try WorkloadObject.read(doc, origin: action.origin)
      if let message = sim.priorityClassProblem(object) {
        throw InputError(file: action.origin, "\(object.reference): \(message)")
      }
      announce(object.reference, action, "")
      if case .job(let j) = object, let i = sim.jobs.find(namespace: j.namespace, name: j.name),
        j.template.identity != sim.jobs.jobs[i].object.template.identity
      {
        throw InputError(file: action.origin, "\(object.reference): spec.template is immutable")
      }
      sim.apply(object)
    case .applyNodePool(let pool):
      announce(ObjectReference(kind: "NodePool", namespace: "", name: pool.name), action, "")
      guard sim.karpenter?.apply(pool) == true else {
        throw InputError(file: action.origin, "no NodePool \(pool.name) is Karpenter's")
      }
    case .delete(let ref):
      announce(ref, action, "")
      let missing = InputError(file: action.origin, "no \(ref) exists at \(sim.now)")
      if let c = sim.controller(of: ref.kind) {
        guard let i = c.find(namespace: ref.namespace, name: ref.name) else { throw missing }
        c.delete(i)
      } else {
        guard let p = sim.cluster.pods.id(named: ref.name), sim.namespace(p) == ref.namespace,
          !sim.isGone(p)
        else { throw missing }
        sim.deletePod(p)
      }
    case .scale(let ref, let replicas):
      announce(ref, action, "--replicas=\(replicas)")
      try patch(ref, action) { $0.set(["spec", "replicas"], .scalar(String(replicas))) }
    case .setImage(let ref, let container, let image):
      announce(ref, action, "\(container)=\(image)")
      var found = false
      try patch(ref, action) { doc in
        guard
          case .list(var containers) = doc.at(["spec", "template", "spec", "containers"]) ?? .null
        else { return }
        for k in containers.indices where containers[k]["name"]?.string == container {
          containers[k].set("image", .scalar(image))
          found = true
        }
        doc.set(["spec", "template", "spec", "containers"], .list(containers))
      }
      if !found {
        throw InputError(file: action.origin, "\(ref) has no container named \(container)")
      }
    case .patch(let ref, let p):
      announce(ref, action, p.json)
      try patch(ref, action) { $0 = $0.merging(p) }
    case .rolloutUndo(let ref, let revision) where ref.kind != "Deployment":
      // A DaemonSet or StatefulSet: back to a ControllerRevision's template.
      guard let c = sim.controller(of: ref.kind),
        let i = c.find(namespace: ref.namespace, name: ref.name),
        let (history, current) = c.revisions(i)
      else { throw InputError(file: action.origin, "no \(ref) exists at \(sim.now)") }
      guard let target = history.target(revision) else {
        throw InputError(
          file: action.origin,
          revision.map { "unable to find specified revision \($0) in history" }
            ?? "no rollout history found for \(ref)")
      }
      if target.identity == sim.templateIdentity[Int(current)] {
        announce(
          ref, action,
          "skipped rollback (current template already matches revision \(target.revision))")
        return
      }
      announce(ref, action, "to revision \(target.revision)")
      let template = sim.templates[Int(target.template)].document
      try patch(ref, action) { $0.set(["spec", "template"], template) }
    case .rolloutUndo(let ref, let revision):
      guard let i = sim.deployments.find(namespace: ref.namespace, name: ref.name) else {
        throw InputError(file: action.origin, "no \(ref) exists at \(sim.now)")
      }
      guard !sim.deployments.deployments[i].object.paused else {
        throw InputError(
          file: action.origin, "you cannot rollback a paused deployment; resume it first")
      }
      guard let (template, found) = sim.deployments.rollbackTemplate(i, to: revision) else {
        throw InputError(
          file: action.origin,
          revision.map { "unable to find specified revision \($0) in history" }
            ?? "no rollout history found for \(ref)")
      }
      announce(ref, action, "to revision \(found)")
      try patch(ref, action) { $0.set(["spec", "template"], template) }
    case .rolloutPause(let ref):
      announce(ref, action, "")
      try patch(ref, action) { $0.set(["spec", "paused"], .scalar("true")) }
    case .rolloutResume(let ref):
      announce(ref, action, "")
      try patch(ref, action) { $0.set(["spec", "paused"], .scalar("false")) }
    case .cordon(let name): sim.nodes.cordon(try nodeAction(name, action), true)
    case .uncordon(let name): sim.nodes.cordon(try nodeAction(name, action), false)
    case .drain(let name): sim.nodes.drain(try nodeAction(name, action))
    case .failNode(let name): sim.nodes.fail(try nodeAction(name, action))
    case .recoverNode(let name): sim.nodes.recover(try nodeAction(name, action))
    case .removeNode(let name): sim.nodes.remove(try nodeAction(name, action))
    case .addNode(let spec):
      guard sim.cluster.nodes.id(named: spec.name) == nil else {
        throw InputError(file: action.origin, "a node named \(spec.name) exists already")
      }
      announce(ObjectReference(kind: "Node", namespace: "", name: spec.name), action, "")
      sim.nodes.add(spec)
    }
  }
}
