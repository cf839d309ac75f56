/**
 * The Priority admission plugin (plugin/pkg/admission/priority): on pod create, resolves
 * spec.priorityClassName to spec.priority and spec.preemptionPolicy — or, without a name, uses the
 * globalDefault class (else priority 0) — and refuses a pod naming a class that does not exist, or carrying
 * a priority or preemption policy that differs from its class, with upstream's messages.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import { forbidden } from '../errors.ts';

/** Looks a PriorityClass up by name (undefined when it does not exist). */
export type PriorityClassLookup = (name: string) => PriorityClass | undefined | Promise<PriorityClass | undefined>;

/** Options of admitPodPriority. */
export interface AdmitPodPriorityOptions {
  /** Every PriorityClass, to find the globalDefault one when the pod names none. */
  listPriorityClasses?: () => PriorityClass[] | Promise<PriorityClass[]>;
}

function refuse(pod: Pod, msg: string): Error {
  return forbidden(`pods "${pod.metadata?.name ?? pod.metadata?.generateName ?? ''}" is forbidden: ${msg}`, { name: pod.metadata?.name, kind: 'pods' });
}

/** The globalDefault class with the highest value (getDefaultPriorityClass), if any. */
async function defaultClass(opts: AdmitPodPriorityOptions): Promise<PriorityClass | undefined> {
  const all = opts.listPriorityClasses ? await opts.listPriorityClasses() : [];
  let best: PriorityClass | undefined;
  for (const pc of all) if (pc.globalDefault && (!best || pc.value > best.value)) best = pc;
  return best;
}

/**
 * Mutates `pod` (a create request) as the Priority admission plugin: sets spec.priority (and
 * preemptionPolicy, and priorityClassName from the global default). Throws a 403 ApiError with upstream's
 * message for an unknown class or a conflicting priority / preemptionPolicy.
 */
export async function admitPodPriority(pod: Pod, lookupPriorityClass: PriorityClassLookup, opts: AdmitPodPriorityOptions = {}): Promise<Pod> {
  const spec = (pod.spec ??= { containers: [] });
  let priority: number;
  let preemptionPolicy: string | undefined;
  if (!spec.priorityClassName) {
    const pc = await defaultClass(opts);
    if (pc) {
      spec.priorityClassName = pc.metadata?.name;
      priority = pc.value;
      preemptionPolicy = pc.preemptionPolicy ?? 'PreemptLowerPriority';
    } else {
      priority = 0;
      preemptionPolicy = 'PreemptLowerPriority';
    }
  } else {
    const pc = await lookupPriorityClass(spec.priorityClassName);
    if (!pc) throw refuse(pod, `no PriorityClass with name ${spec.priorityClassName} was found`);
    priority = pc.value;
    preemptionPolicy = pc.preemptionPolicy;
  }
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
    throw refuse(pod, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
  }
  spec.priority = priority;
  if (preemptionPolicy !== undefined) {
    if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== null && spec.preemptionPolicy !== preemptionPolicy) {
      throw refuse(pod, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${preemptionPolicy} from the given PriorityClass name`);
    }
    spec.preemptionPolicy = preemptionPolicy;
  }
  return pod;
}
