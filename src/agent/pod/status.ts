/**
 * Pod status as the kubelet computes it (generateAPIPodStatus): the phase from container states (getPhase),
 * the conditions PodReadyToStartContainers, Initialized, Ready, ContainersReady and PodScheduled with upstream's
 * reasons and messages, host and pod IPs, QoS class and start time. Pure functions of their inputs.
 */
import type { ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { computeQOSClass } from '../../api/core/v1/pod-spec.ts';

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** getPhase: the pod phase from its spec and container statuses. */
export function getPhase(pod: Pod, initStatuses: ContainerStatus[], statuses: ContainerStatus[], podIsTerminal: boolean): Phase {
  const spec = pod.spec ?? { containers: [] };
  let pendingInitialization = 0;
  let failedInitialization = 0;
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') continue;
    const st = initStatuses.find((s) => s.name === c.name);
    if (!st) {
      pendingInitialization++;
      continue;
    }
    if (st.state?.running) pendingInitialization++;
    else if (st.state?.terminated) {
      if (st.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (st.state?.waiting) {
      if (st.lastState?.terminated) {
        if (st.lastState.terminated.exitCode !== 0) failedInitialization++;
      } else pendingInitialization++;
    } else pendingInitialization++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.containers) {
    const st = statuses.find((s) => s.name === c.name);
    if (!st) {
      unknown++;
      continue;
    }
    if (st.state?.running) running++;
    else if (st.state?.terminated) {
      stopped++;
      if (st.state.terminated.exitCode === 0) succeeded++;
    } else if (st.state?.waiting) {
      if (st.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  const policy = spec.restartPolicy ?? 'Always';
  if (failedInitialization > 0 && policy === 'Never') return 'Failed';
  if (pendingInitialization > 0 || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** Inputs of buildPodStatus. */
export interface PodStatusInputs {
  initContainerStatuses: ContainerStatus[];
  containerStatuses: ContainerStatus[];
  /** The sandbox exists and has its network (PodReadyToStartContainers). */
  sandboxReady: boolean;
  hostIP: string;
  podIP: string;
  /** When the agent first started working on the pod. */
  startTime: string;
  /** The pod is being terminated: containers will not restart. */
  podIsTerminal: boolean;
  /** RFC3339 now, for condition transitions. */
  now: string;
}

/** The full status the agent reports for a pod. */
export function buildPodStatus(pod: Pod, inp: PodStatusInputs): PodStatus {
  const old = pod.status ?? {};
  const phase = getPhase(pod, inp.initContainerStatuses, inp.containerStatuses, inp.podIsTerminal);
  const conds = new Map<string, PodCondition>();
  const previous = new Map((old.conditions ?? []).map((c) => [c.type, c]));
  const put = (type: string, ok: boolean, reason?: string, message?: string): void => {
    const status = ok ? 'True' : 'False';
    const prev = previous.get(type);
    const c: PodCondition = { type, status, lastProbeTime: null as unknown as string, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : inp.now };
    if (reason) c.reason = reason;
    if (message) c.message = message;
    conds.set(type, c);
  };
  put('PodReadyToStartContainers', inp.sandboxReady);
  const spec = pod.spec ?? { containers: [] };
  if (phase === 'Succeeded') {
    put('Initialized', true, 'PodCompleted');
  } else {
    const incomplete = (spec.initContainers ?? []).filter((c) => {
      const st = inp.initContainerStatuses.find((s) => s.name === c.name);
      if (c.restartPolicy === 'Always') return !st?.started;
      return !(st?.state?.terminated && st.state.terminated.exitCode === 0);
    }).map((c) => c.name);
    const anyStarted = inp.containerStatuses.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
    if (incomplete.length === 0 || anyStarted) put('Initialized', true);
    else put('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`);
  }
  let containersReady: { ok: boolean; reason?: string; message?: string };
  if (phase === 'Succeeded') containersReady = { ok: false, reason: 'PodCompleted' };
  else {
    const unknown = spec.containers.filter((c) => !inp.containerStatuses.some((s) => s.name === c.name)).map((c) => c.name);
    const unready = spec.containers.filter((c) => inp.containerStatuses.some((s) => s.name === c.name && !s.ready)).map((c) => c.name);
    const parts: string[] = [];
    if (unknown.length > 0) parts.push(`containers with unknown status: [${unknown.join(' ')}]`);
    if (unready.length > 0) parts.push(`containers with unready status: [${unready.join(' ')}]`);
    containersReady = parts.length === 0 ? { ok: true } : { ok: false, reason: 'ContainersNotReady', message: parts.join(', ') };
  }
  // Readiness gates: conditions other components own must be True too.
  const gates = (spec.readinessGates ?? []).map((g) => g.conditionType);
  const missingGates = gates.filter((g) => previous.get(g)?.status !== 'True');
  if (!containersReady.ok) put('Ready', false, containersReady.reason, containersReady.message);
  else if (missingGates.length > 0) put('Ready', false, 'ReadinessGatesNotReady', `corresponding condition of pod readiness gate "${missingGates[0]!}" does not exist.`);
  else put('Ready', true);
  put('ContainersReady', containersReady.ok, containersReady.reason, containersReady.message);
  const sched = previous.get('PodScheduled');
  conds.set('PodScheduled', sched ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null as unknown as string, lastTransitionTime: inp.now });
  // Conditions owned by others (DisruptionTarget, readiness gates…) are kept as they are.
  for (const [type, c] of previous) if (!conds.has(type)) conds.set(type, c);
  const status: PodStatus = {
    phase,
    conditions: [...conds.values()],
    hostIP: inp.hostIP,
    hostIPs: [{ ip: inp.hostIP }],
    startTime: inp.startTime,
    containerStatuses: inp.containerStatuses,
    qosClass: old.qosClass ?? computeQOSClass(spec),
  };
  if (inp.podIP) {
    status.podIP = inp.podIP;
    status.podIPs = [{ ip: inp.podIP }];
  }
  if (inp.initContainerStatuses.length > 0) status.initContainerStatuses = inp.initContainerStatuses;
  if (old.nominatedNodeName) status.nominatedNodeName = old.nominatedNodeName;
  return status;
}
