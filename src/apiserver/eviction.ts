/**
 * pods/eviction (upstream pkg/registry/core/pod/storage/eviction.go): deletes a pod unless that would violate its
 * PodDisruptionBudget. Pods that are terminal, Pending or already deleting go at once; a pod with no budget goes
 * at once; more than one budget is refused (500); a budget not yet observed by the disruption controller, or with
 * no disruptions allowed, refuses with 429 TooManyRequests (kubectl drain retries); otherwise disruptionsAllowed
 * is decremented and the pod recorded in status.disruptedPods (compare-and-swap on the budget) before the delete.
 * An unready pod is evicted without touching the budget when it is already satisfied, or always with the
 * AlwaysAllow unhealthyPodEvictionPolicy.
 */
import { cloneJson } from '../base/json-value.ts';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';
import type { KubeObject, StoredObject } from '../api/meta/types.ts';
import { labelSelectorFromMeta, matchesLabels } from '../api/meta/labels.ts';
import { formatRFC3339 } from '../api/meta/time.ts';
import type { DeleteParams, ListOutcome, ListParams, UpdateFn, UpdateSubresource, WriteParams } from './registry/store.ts';
import { ApiError, badRequest, conflict, forbidden, internalError } from './errors.ts';

/** MaxDisruptedPodSize: more unconfirmed evictions than this are refused. */
export const maxDisruptedPodSize = 2000;

/** The two stores eviction needs: pods, and PodDisruptionBudgets (policy/v1). */
export interface EvictionDeps {
  pods: {
    get(namespace: string, name: string): Promise<StoredObject>;
    delete(namespace: string, name: string, params?: DeleteParams): Promise<unknown>;
  };
  pdbs: {
    def: { group: string; plural: string };
    list(namespace: string, params: ListParams): Promise<ListOutcome>;
    guaranteedUpdate(namespace: string, name: string, mutate: UpdateFn, params?: WriteParams & { subresource?: UpdateSubresource }): Promise<StoredObject>;
  };
  clock?: Clock;
}

/** The request: the pod named in the URL and the Eviction body (policy/v1, its deleteOptions honoured). */
export interface EvictionRequest {
  namespace: string;
  name: string;
  body: KubeObject;
  dryRun?: boolean;
}

/** The Status a refused eviction carries (429 with the DisruptionBudget cause, as upstream). */
function budgetViolation(cause: string): ApiError {
  return new ApiError({
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
    reason: 'TooManyRequests',
    code: 429,
    details: { causes: [{ reason: 'DisruptionBudget', message: cause }] },
  });
}

function podIsReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** canIgnorePDB: terminal, Pending or already deleting pods are evicted without a budget check. */
export function canIgnorePDB(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
}

/** The budgets whose (non-empty) selector matches the pod. */
export function budgetsFor(pod: Pod, pdbs: PodDisruptionBudget[]): PodDisruptionBudget[] {
  return pdbs.filter((pdb) => {
    try {
      const sel = labelSelectorFromMeta(pdb.spec?.selector);
      return sel.length > 0 && matchesLabels(sel, pod.metadata?.labels);
    } catch {
      return false;
    }
  });
}

/**
 * checkAndDecrement: the budget with one disruption taken for `podName`, or the refusal: 429 while the status
 * lags the spec or no disruption is allowed, 403 for a negative count or too many unconfirmed evictions.
 */
export function takeDisruption(pdb: PodDisruptionBudget, podName: string, opts: { nowMs: number; dryRun?: boolean }): PodDisruptionBudget {
  const s = pdb.status;
  const name = pdb.metadata?.name ?? '';
  if ((s?.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) {
    throw budgetViolation(`The disruption budget ${name} is still being processed by the server.`);
  }
  const allowed = s?.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbidden('pdb disruptions allowed is negative');
  if (Object.keys(s?.disruptedPods ?? {}).length > maxDisruptedPodSize) {
    throw forbidden('DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  }
  if (allowed === 0) {
    throw budgetViolation(`The disruption budget ${name} needs ${s?.desiredHealthy ?? 0} healthy pods and has ${s?.currentHealthy ?? 0} currently`);
  }
  const next = cloneJson(pdb);
  const st = next.status!;
  st.disruptionsAllowed = allowed - 1;
  if (st.disruptionsAllowed === 0) {
    const conds = (st.conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed');
    const prev = st.conditions?.find((c) => c.type === 'DisruptionAllowed');
    conds.push({
      type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '', observedGeneration: st.observedGeneration,
      lastTransitionTime: prev?.status === 'False' ? prev.lastTransitionTime : formatRFC3339(opts.nowMs),
    });
    st.conditions = conds;
  }
  if (!opts.dryRun) st.disruptedPods = { ...(st.disruptedPods ?? {}), [podName]: formatRFC3339(opts.nowMs) };
  return next;
}

/** POST pods/{name}/eviction: evicts the pod or throws the ApiError to answer with (429 when a budget forbids it). */
export async function evictPod(deps: EvictionDeps, req: EvictionRequest): Promise<void> {
  const { namespace, name, body } = req;
  if (body.kind !== undefined && body.kind !== 'Eviction') throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (Eviction)`);
  const bodyName = body.metadata?.name;
  if (bodyName && bodyName !== name) throw badRequest(`name in URL does not match name in Eviction object`);
  const opts = ((body as { deleteOptions?: DeleteParams & { dryRun?: string[] } }).deleteOptions ?? {});
  const dryRun = req.dryRun === true || (Array.isArray(opts.dryRun) && opts.dryRun.includes('All'));
  const del: DeleteParams = {
    ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
    ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
    ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
    dryRun,
  };
  const pod = (await deps.pods.get(namespace, name)) as Pod;
  const remove = async (): Promise<void> => {
    // Guard against deleting a pod that replaced the one the budget was checked against.
    await deps.pods.delete(namespace, name, { ...del, preconditions: { ...(del.preconditions ?? {}), uid: del.preconditions?.uid ?? pod.metadata?.uid } });
  };
  if (canIgnorePDB(pod)) {
    await remove();
    return;
  }
  const all = (await deps.pdbs.list(namespace, {})).items.map((c) => c.obj as PodDisruptionBudget);
  const pdbs = budgetsFor(pod, all);
  if (pdbs.length > 1) throw internalError('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  if (pdbs.length === 0) {
    await remove();
    return;
  }
  const pdb = pdbs[0]!;
  if (!podIsReady(pod)) {
    const s = pdb.status;
    const satisfied = (s?.currentHealthy ?? 0) >= (s?.desiredHealthy ?? 0) && (s?.desiredHealthy ?? 0) > 0;
    if (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' || satisfied) {
      await remove();
      return;
    }
  }
  const clock = deps.clock ?? realClock;
  const pdbName = pdb.metadata?.name ?? '';
  if (!dryRun) {
    await deps.pdbs.guaranteedUpdate(namespace, pdbName, (cur) => {
      // The decrement is decided on the budget as stored, so two evictions never both take the last disruption.
      if (cur.metadata.uid !== pdb.metadata?.uid) throw conflict(deps.pdbs.def, pdbName);
      return takeDisruption(cur as PodDisruptionBudget, name, { nowMs: clock.now() }) as StoredObject;
    }, { subresource: 'status' });
  } else {
    takeDisruption(pdb, name, { nowMs: clock.now(), dryRun: true });
  }
  await remove();
}
