/**
 * Pod (core/v1): upstream SetDefaults_Pod, ValidatePodCreate/Update, pkg/registry/core/pod/strategy.go and printPod.
 */
import type { Container, ContainerStatus, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, deepEqual, validateMeta, validateMetaUpdate, writable } from './helpers.ts';
import { computeQOSClass, defaultPodSpec, validatePodSpec } from './pod-spec.ts';

/** SetDefaults_Pod (requests default to limits, enableServiceLinks, host-network ports) and the pod spec defaults. */
export function defaultPod(pod: Pod): void {
  if (!pod.spec) return;
  const spec = pod.spec;
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    const limits = c.resources?.limits;
    if (!limits || !c.resources) continue;
    c.resources.requests ??= {};
    for (const [k, v] of Object.entries(limits)) if (!(k in c.resources.requests)) c.resources.requests[k] = v;
  }
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  if (spec.hostNetwork) {
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const p of c.ports ?? []) if (!p.hostPort) p.hostPort = p.containerPort;
    }
  }
  defaultPodSpec(spec);
}

const updatablePodSpecFields = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/** ValidatePodUpdate's spec rule: only images, activeDeadlineSeconds, added tolerations and a few more may change. */
function validatePodSpecUpdate(pod: Pod, old: Pod): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pod.spec;
  const oldSpec = old.spec;
  if (!spec || !oldSpec) return errs;
  if ((spec.containers ?? []).length !== (oldSpec.containers ?? []).length) {
    return [fieldError.forbidden('spec.containers', 'pod updates may not add or remove containers')];
  }
  if ((spec.initContainers ?? []).length !== (oldSpec.initContainers ?? []).length) {
    return [fieldError.forbidden('spec.initContainers', 'pod updates may not add or remove containers')];
  }
  const ads = spec.activeDeadlineSeconds;
  const oldAds = oldSpec.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    if (ads < 0 || ads > 2147483647) {
      return [fieldError.invalid('spec.activeDeadlineSeconds', ads, 'must be between 0 and 2147483647, inclusive')];
    }
    if (oldAds !== undefined && oldAds !== null && oldAds < ads) {
      return [fieldError.invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value')];
    }
  } else if (oldAds !== undefined && oldAds !== null) {
    errs.push(fieldError.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  const munged = clone(spec);
  munged.containers = munged.containers.map((c, i) => ({ ...c, image: oldSpec.containers[i]?.image } as Container));
  if (munged.initContainers) {
    munged.initContainers = munged.initContainers.map((c, i) => ({ ...c, image: oldSpec.initContainers?.[i]?.image } as Container));
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  // Tolerations may only be added: every old toleration must still be present (tolerationSeconds aside).
  const newTols = spec.tolerations ?? [];
  for (const t of oldSpec.tolerations ?? []) {
    const same = newTols.some((n) => deepEqual({ ...n, tolerationSeconds: undefined }, { ...t, tolerationSeconds: undefined }));
    if (!same) {
      errs.push(fieldError.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  munged.tolerations = oldSpec.tolerations;
  const oldGrace = oldSpec.terminationGracePeriodSeconds;
  if (oldGrace !== undefined && oldGrace !== null && oldGrace < 0 && spec.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldGrace;
  }
  if (!deepEqual(munged, oldSpec)) {
    errs.push(fieldError.forbidden('spec', `pod updates may not change fields other than ${updatablePodSpecFields.join(',')}`));
  }
  return errs;
}

function isRestartableInit(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function conditionTrue(conds: PodCondition[] | undefined, type: string): boolean {
  return (conds ?? []).some((c) => c.type === type && c.status === 'True');
}

function later(a: string, b: string | undefined): string {
  if (!b) return a;
  if (!a) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/** The READY, STATUS and RESTARTS cells of printPod. */
export function podStatusCells(pod: Pod, now: number): { ready: string; status: string; restarts: string } {
  const spec = pod.spec;
  const status = pod.status ?? {};
  let restarts = 0;
  let sidecarRestarts = 0;
  let totalContainers = spec?.containers?.length ?? 0;
  let readyContainers = 0;
  let lastRestart = '';
  let lastSidecarRestart = '';
  const phase = status.phase ?? '';
  let reason = status.reason ? status.reason : phase;
  for (const c of status.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  const inits = new Map<string, Container>();
  for (const c of spec?.initContainers ?? []) {
    inits.set(c.name, c);
    if (isRestartableInit(c)) totalContainers++;
  }
  let initializing = false;
  const initStatuses: ContainerStatus[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    if (!c) continue;
    restarts += c.restartCount ?? 0;
    const lastTerm = c.lastState?.terminated;
    if (lastTerm) lastRestart = later(lastRestart, lastTerm.finishedAt);
    const restartable = isRestartableInit(inits.get(c.name));
    if (restartable) {
      sidecarRestarts += c.restartCount ?? 0;
      if (lastTerm) lastSidecarRestart = later(lastSidecarRestart, lastTerm.finishedAt);
    }
    const term = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (restartable && c.started === true) {
      if (c.ready) readyContainers++;
      continue;
    }
    if (term) {
      if (!term.reason) {
        reason = term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
      } else {
        reason = `Init:${term.reason}`;
      }
    } else if (waiting && waiting.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${spec?.initContainers?.length ?? 0}`;
    }
    initializing = true;
    break;
  }
  if (!initializing || conditionTrue(status.conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      if (!c) continue;
      restarts += c.restartCount ?? 0;
      const lastTerm = c.lastState?.terminated;
      if (lastTerm) lastRestart = later(lastRestart, lastTerm.finishedAt);
      const waiting = c.state?.waiting;
      const term = c.state?.terminated;
      if (waiting && waiting.reason) reason = waiting.reason;
      else if (term && term.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = conditionTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
    }
  }
  const deleting = pod.metadata?.deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Failed' && phase !== 'Succeeded') reason = 'Terminating';
  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart) restartsStr = `${restarts} (${translateTimestampSince(lastRestart, now)} ago)`;
  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartsStr };
}

function readinessGatesCell(pod: Pod): string {
  const gates = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  let trueConditions = 0;
  for (const g of gates) {
    const cond = (pod.status?.conditions ?? []).find((c) => c.type === g.conditionType);
    if (cond?.status === 'True') trueConditions++;
  }
  return `${trueConditions}/${gates.length}`;
}

/** pods: the core/v1 Pod kind. */
export const pods = defineResource<Pod>({
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  subresources: {
    status: true,
    others: [
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'eviction', group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'proxy', kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    ],
  },
  defaults: defaultPod,
  validate(pod) {
    const errs = validateMeta(pod.metadata, true, nameIsDNSSubdomain);
    errs.push(...validatePodSpec(pod.spec, 'spec'));
    // `validate` also runs on updates; only a create (no resourceVersion yet) may not carry ephemeral containers.
    if (!pod.metadata?.resourceVersion && pod.spec?.ephemeralContainers && pod.spec.ephemeralContainers.length > 0) {
      errs.push(fieldError.forbidden('spec.ephemeralContainers', 'cannot be set on create'));
    }
    return errs;
  },
  validateUpdate(pod, old) {
    return [...validateMetaUpdate(pod.metadata, old.metadata), ...validatePodSpecUpdate(pod, old)];
  },
  strategy: {
    // Upstream CheckGracefulDeleteWithOptions: the requested period, else the pod's terminationGracePeriodSeconds;
    // unscheduled and terminated pods go at once.
    gracePeriod(pod, requested) {
      let period = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 0;
      if (!pod.spec?.nodeName) period = 0;
      const phase = pod.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') period = 0;
      return period;
    },
    prepareForCreate(pod) {
      const status: NonNullable<Pod['status']> = { phase: 'Pending', qosClass: computeQOSClass(pod.spec ?? { containers: [] }) };
      writable(pod).status = status;
      if ((pod.spec?.schedulingGates ?? []).length > 0) {
        status.conditions = [{
          type: 'PodScheduled',
          status: 'False',
          reason: 'SchedulingGated',
          message: 'Scheduling is blocked due to non-empty scheduling gates',
        }];
      }
    },
    prepareForUpdate(pod, old) {
      writable(pod).status = clone(old.status);
    },
    prepareForStatusUpdate(pod, old) {
      pod.spec = clone(old.spec);
      // Old kubelets corrupt owner references through pods/status: upstream keeps the stored ones.
      const meta = writable(pod.metadata ?? {});
      meta.ownerReferences = clone(old.metadata?.ownerReferences);
      meta.deletionTimestamp = old.metadata?.deletionTimestamp;
      // QoS is fixed at creation; old kubelets dropped it on rejection, so it is backfilled.
      if (pod.status && !pod.status.qosClass && old.status?.qosClass) pod.status.qosClass = old.status.qosClass;
    },
  },
  columns: [
    { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', cell: (p, now) => podStatusCells(p, now).ready },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', cell: (p, now) => podStatusCells(p, now).status },
    {
      name: 'Restarts', type: 'string',
      description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      cell: (p, now) => podStatusCells(p, now).restarts,
    },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (p, now) => translateTimestampSince(p.metadata?.creationTimestamp, now) },
    { name: 'IP', type: 'string', priority: 1, description: 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', cell: (p) => p.status?.podIPs?.[0]?.ip || '<none>' },
    { name: 'Node', type: 'string', priority: 1, description: 'NodeName indicates in which node this pod is scheduled.', cell: (p) => p.spec?.nodeName || '<none>' },
    { name: 'Nominated Node', type: 'string', priority: 1, description: 'nominatedNodeName is set when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', cell: (p) => p.status?.nominatedNodeName || '<none>' },
    { name: 'Readiness Gates', type: 'string', priority: 1, description: 'If specified, all readiness gates will be evaluated for pod readiness.', cell: readinessGatesCell },
  ],
  fieldSelectors: {
    'spec.nodeName': (p) => p.spec?.nodeName ?? '',
    'spec.restartPolicy': (p) => p.spec?.restartPolicy ?? '',
    'spec.schedulerName': (p) => p.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (p) => p.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (p) => String(p.spec?.hostNetwork === true),
    'status.phase': (p) => p.status?.phase ?? '',
    'status.podIP': (p) => p.status?.podIPs?.[0]?.ip ?? p.status?.podIP ?? '',
    'status.nominatedNodeName': (p) => p.status?.nominatedNodeName ?? '',
  },
  examples: [{
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
  }],
});
