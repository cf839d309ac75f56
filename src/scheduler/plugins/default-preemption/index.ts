/**
 * DefaultPreemption (PostFilter): when no node fits, finds nodes where evicting lower-priority pods would
 * let the pod fit, chooses victims as upstream (remove every lower-priority pod, then reprieve as many as
 * possible, PDB-violating ones first and higher priorities first), picks one node by upstream's ordered
 * criteria, evicts the victims gracefully (DELETE) and nominates the node.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { labelSelectorFromMeta, matchesLabels } from '../../../api/meta/labels.ts';
import type { CycleState, Handle, NodeToStatus, PostFilterPlugin, PostFilterResult } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import { podPriority } from '../../framework/node-info.ts';
import { asStatus, isSuccess, newStatus, Status, type Result } from '../../framework/status.ts';
import { fitErrorMessage } from '../../framework/fit-error.ts';

/** The plugin's registered name. */
export const name = 'DefaultPreemption';

/** DefaultPreemptionArgs. */
export interface DefaultPreemptionArgs {
  minCandidateNodesPercentage?: number;
  minCandidateNodesAbsolute?: number;
}

/** A node and the pods to evict there (Candidate). */
export interface Candidate {
  name: string;
  victims: Pod[];
  numPDBViolations: number;
}

function startTime(p: Pod): number {
  const t = p.status?.startTime;
  return t ? Date.parse(t) : Date.now();
}

/** util.MoreImportantPod: higher priority, then the earlier start time. */
export function moreImportantPod(a: Pod, b: Pod): boolean {
  const p1 = podPriority(a);
  const p2 = podPriority(b);
  if (p1 !== p2) return p1 > p2;
  return startTime(a) < startTime(b);
}

/** Splits pods into those whose eviction would violate a PDB and the rest (filterPodsWithPDBViolation). */
export function filterPodsWithPDBViolation(pods: PodInfo[], pdbs: PodDisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map((p) => {
    try {
      return p.spec?.selector ? labelSelectorFromMeta(p.spec.selector) : null;
    } catch {
      return null;
    }
  });
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const pi of pods) {
    let violated = false;
    if (Object.keys(pi.labels).length > 0) {
      pdbs.forEach((pdb, i) => {
        if (pdb.metadata?.namespace !== pi.namespace) return;
        const sel = selectors[i];
        // A PDB with a nil or empty selector matches nothing.
        if (!sel || sel.length === 0 || !matchesLabels(sel, pi.labels)) return;
        if (pdb.status?.disruptedPods && Object.hasOwn(pdb.status.disruptedPods, pi.name)) return;
        allowed[i] = (allowed[i] ?? 0) - 1;
        if ((allowed[i] ?? 0) < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(pi);
  }
  return { violating, nonViolating };
}

/** pickOneNodeForPreemption: fewest PDB violations, lowest top victim priority, lowest priority sum, fewest victims, latest start. */
export function pickOneNodeForPreemption(candidates: Candidate[]): Candidate | undefined {
  if (candidates.length === 0) return undefined;
  const scoreFuncs: ((c: Candidate) => number)[] = [
    (c) => -c.numPDBViolations,
    (c) => -(c.victims[0] ? podPriority(c.victims[0]) : 0),
    (c) => -c.victims.reduce((s, p) => s + podPriority(p) + 2 ** 31, 0),
    (c) => -c.victims.length,
    (c) => {
      // The earliest start time among the highest-priority victims (GetEarliestPodStartTime).
      if (c.victims.length === 0) return -Infinity;
      let maxPrio = -Infinity;
      for (const v of c.victims) maxPrio = Math.max(maxPrio, podPriority(v));
      let earliest = Infinity;
      for (const v of c.victims) if (podPriority(v) === maxPrio) earliest = Math.min(earliest, startTime(v));
      return earliest;
    },
  ];
  let all = candidates;
  for (const f of scoreFuncs) {
    let max = -Infinity;
    let selected: Candidate[] = [];
    for (const c of all) {
      const s = f(c);
      if (s > max) {
        max = s;
        selected = [];
      }
      if (s === max) selected.push(c);
    }
    if (selected.length === 1) return selected[0];
    all = selected;
  }
  return all[0];
}

function podTerminatingByPreemption(p: Pod): boolean {
  if (!p.metadata?.deletionTimestamp) return false;
  return (p.status?.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.reason === 'PreemptionByScheduler');
}

/** Builds the plugin. */
export function newDefaultPreemption(args: Record<string, unknown> | undefined, handle: Handle): PostFilterPlugin & {
  selectVictimsOnNode(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo, pdbs: PodDisruptionBudget[]): { victims: Pod[]; numPDBViolations: number; status: Result };
} {
  const a = (args ?? {}) as DefaultPreemptionArgs;
  const minPct = a.minCandidateNodesPercentage ?? 10;
  const minAbs = a.minCandidateNodesAbsolute ?? 100;

  const selectVictimsOnNode = (state: CycleState, pod: PodInfo, nodeInfo: NodeInfo, pdbs: PodDisruptionBudget[]) => {
    const remove = (p: PodInfo): void => {
      nodeInfo.removePod(p.key);
      handle.runPreFilterExtensionRemovePod(state, pod, p, nodeInfo);
    };
    const add = (p: PodInfo): void => {
      nodeInfo.addPod(p);
      handle.runPreFilterExtensionAddPod(state, pod, p, nodeInfo);
    };
    const potential: PodInfo[] = [];
    for (const p of [...nodeInfo.pods]) {
      if (p.priority < pod.priority) {
        potential.push(p);
        remove(p);
      }
    }
    if (potential.length === 0) {
      return { victims: [], numPDBViolations: 0, status: newStatus('UnschedulableAndUnresolvable', 'No preemption victims found for incoming pod') };
    }
    const st = handle.runFilterPluginsWithNominatedPods(state, pod, nodeInfo);
    if (!isSuccess(st)) return { victims: [], numPDBViolations: 0, status: st };
    potential.sort((x, y) => (moreImportantPod(x.pod, y.pod) ? -1 : moreImportantPod(y.pod, x.pod) ? 1 : 0));
    const { violating, nonViolating } = filterPodsWithPDBViolation(potential, pdbs);
    const victims: Pod[] = [];
    let numPDBViolations = 0;
    const reprieve = (p: PodInfo): boolean => {
      add(p);
      const fits = isSuccess(handle.runFilterPluginsWithNominatedPods(state, pod, nodeInfo));
      if (!fits) {
        remove(p);
        victims.push(p.pod);
      }
      return fits;
    };
    for (const p of violating) if (!reprieve(p)) numPDBViolations++;
    for (const p of nonViolating) reprieve(p);
    return { victims, numPDBViolations, status: undefined as Result };
  };

  const eligible = (pod: PodInfo, nominatedStatus: Status | undefined): { ok: boolean; msg: string } => {
    if (pod.pod.spec?.preemptionPolicy === 'Never') return { ok: false, msg: 'not eligible due to preemptionPolicy=Never.' };
    const nom = pod.pod.status?.nominatedNodeName;
    if (nom) {
      if (nominatedStatus?.code === 'UnschedulableAndUnresolvable') return { ok: true, msg: '' };
      const ni = handle.getNodeInfo(nom);
      if (ni) {
        for (const p of ni.pods) {
          if (p.priority < pod.priority && podTerminatingByPreemption(p.pod)) return { ok: false, msg: 'not eligible due to a terminating pod on the nominated node.' };
        }
      }
    }
    return { ok: true, msg: '' };
  };

  const preempt = async (state: CycleState, pod: PodInfo, m: NodeToStatus, signal: AbortSignal | undefined): Promise<{ result?: PostFilterResult; status: Result }> => {
    const nom = pod.pod.status?.nominatedNodeName;
    const el = eligible(pod, nom ? m.get(nom) : undefined);
    if (!el.ok) return { status: newStatus('Unschedulable', el.msg) };
    const all = handle.nodeList();
    if (all.length === 0) return { status: asStatus(new Error('no nodes available')) };
    const statuses: NodeToStatus = new Map();
    const potential: NodeInfo[] = [];
    for (const n of all) {
      if (m.get(n.name)?.code === 'UnschedulableAndUnresolvable') {
        statuses.set(n.name, newStatus('UnschedulableAndUnresolvable', 'Preemption is not helpful for scheduling'));
        continue;
      }
      potential.push(n);
    }
    const candidates: Candidate[] = [];
    if (potential.length > 0) {
      const pdbs = handle.listPodDisruptionBudgets();
      const offset = Math.floor(Math.random() * potential.length);
      let numCandidates = Math.trunc((potential.length * minPct) / 100);
      if (numCandidates < minAbs) numCandidates = minAbs;
      if (numCandidates > potential.length) numCandidates = potential.length;
      const nonViolating: Candidate[] = [];
      const violating: Candidate[] = [];
      for (let i = 0; i < potential.length; i++) {
        const ni = (potential[(offset + i) % potential.length] as NodeInfo).clone();
        const r = selectVictimsOnNode(state.clone(), pod, ni, pdbs);
        let st = r.status;
        if (isSuccess(st) && r.victims.length > 0) {
          const c = { name: ni.name, victims: r.victims, numPDBViolations: r.numPDBViolations };
          (r.numPDBViolations === 0 ? nonViolating : violating).push(c);
          if (nonViolating.length > 0 && nonViolating.length + violating.length >= numCandidates) break;
          continue;
        }
        if (isSuccess(st)) st = asStatus(new Error(`expected at least one victim pod on node "${ni.name}"`));
        if (st) statuses.set(ni.name, st);
      }
      candidates.push(...nonViolating, ...violating);
    }
    if (candidates.length === 0) {
      return { status: newStatus('Unschedulable', fitErrorMessage(statuses.size, { nodeToStatus: statuses })) };
    }
    const best = candidates.length === 1 ? candidates[0] : pickOneNodeForPreemption(candidates);
    if (!best) return { status: newStatus('Unschedulable', 'no candidate node for preemption') };
    // prepareCandidate: evict the victims and drop lower-priority nominations on that node.
    try {
      for (const victim of best.victims) {
        const vkey = victim.metadata?.uid ?? `${victim.metadata?.namespace ?? ''}/${victim.metadata?.name ?? ''}`;
        if (!handle.rejectWaitingPod(vkey, name, 'preempted')) {
          const conds = (victim.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
          conds.push({
            type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler',
            message: `${pod.pod.spec?.schedulerName ?? handle.schedulerName}: preempting to accommodate a higher priority pod`,
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          });
          await handle.patchPodStatus(victim, { conditions: conds });
          await handle.deletePod(victim, { signal });
        }
        handle.event(victim, 'Normal', 'Preempted', `Preempted by pod ${pod.pod.metadata?.uid ?? pod.key} on node ${best.name}`);
      }
      for (const np of handle.nominatedPodsForNode(best.name)) {
        if (np.priority < pod.priority && np.key !== pod.key) await handle.patchPodStatus(np.pod, { nominatedNodeName: null });
      }
    } catch (e) {
      return { status: asStatus(e) };
    }
    return { result: { nominatedNodeName: best.name }, status: undefined };
  };

  return {
    name,
    selectVictimsOnNode,
    async postFilter(state, pod, m, opts) {
      const { result, status } = await preempt(state, pod, m, opts?.signal);
      const msg = status?.message() ?? '';
      if (status && msg.length > 0) return { result, status: new Status(status.code, [`preemption: ${msg}`], { err: status.err }) };
      return { result, status };
    },
  };
}
