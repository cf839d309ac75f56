/** scheduling.k8s.io/v1 PriorityClass (cluster-scoped) and the two built-in system classes. */
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { KubeObject } from '../../meta/types.ts';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { nameIsDNSSubdomain, validateImmutableField, validateObjectMeta, validateObjectMetaUpdate } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { creationTimestampDoc } from '../../apps/v1/workload.ts';

/** The largest value a user-defined PriorityClass may have. */
export const highestUserDefinablePriority = 1_000_000_000;
/** The value of system-cluster-critical; system-node-critical is 1000 more. */
export const systemCriticalPriority = 2 * highestUserDefinablePriority;
/** Names with this prefix are reserved for the built-in classes. */
export const systemPriorityClassPrefix = 'system-';

/** The PriorityClasses the server creates at startup (upstream's SystemPriorityClasses, preemption defaulted). */
export const builtinPriorityClasses: KubeObject[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: systemCriticalPriority + 1000,
    description: 'Used for system critical pods that must not be moved from their current node.',
    preemptionPolicy: 'PreemptLowerPriority',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: systemCriticalPriority,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
    preemptionPolicy: 'PreemptLowerPriority',
  },
];

// IsKnownSystemPriorityClass: the error explains which property differs.
function knownSystemClassError(pc: PriorityClass): string | undefined {
  const spc = builtinPriorityClasses.find((c) => c.metadata?.name === pc.metadata?.name);
  if (!spc) return `${pc.metadata?.name ?? ''} is not a known system priority class`;
  if (spc.value !== pc.value) return `value of ${spc.metadata?.name ?? ''} PriorityClass must be ${String(spc.value)}`;
  if ((pc.globalDefault ?? false) !== false) return `globalDefault of ${spc.metadata?.name ?? ''} PriorityClass must be false`;
  return undefined;
}

/** ValidatePriorityClass: reserved system- names, the user-definable maximum, and the preemption policy. */
export function validatePriorityClass(pc: PriorityClass): FieldError[] {
  const errs = validateObjectMeta(pc.metadata, { namespaced: false, nameValidator: nameIsDNSSubdomain, path: 'metadata' });
  const name = pc.metadata?.name ?? '';
  if (name.startsWith(systemPriorityClassPrefix)) {
    const err = knownSystemClassError(pc);
    if (err) {
      errs.push(fieldError.forbidden('metadata.name', `priority class names with '${systemPriorityClassPrefix}' prefix are reserved for system use only. error: ${err}`));
    }
  } else if (pc.value > highestUserDefinablePriority) {
    errs.push(fieldError.forbidden('value', `maximum allowed value of a user defined priority is ${highestUserDefinablePriority}`));
  }
  if (pc.preemptionPolicy !== undefined && pc.preemptionPolicy !== 'PreemptLowerPriority' && pc.preemptionPolicy !== 'Never') {
    errs.push(fieldError.notSupported('preemptionPolicy', pc.preemptionPolicy, ['Never', 'PreemptLowerPriority']));
  }
  return errs;
}

/** The scheduling.k8s.io/v1 PriorityClass kind. */
export const priorityClasses = defineResource<PriorityClass>({
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  namespaced: false,
  shortNames: ['pc'],
  defaults: (pc) => {
    pc.preemptionPolicy ??= 'PreemptLowerPriority';
  },
  validate: validatePriorityClass,
  validateUpdate: (pc, old) => {
    const errs = validateObjectMetaUpdate(pc.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' });
    if (pc.value !== old.value) errs.push(fieldError.forbidden('value', 'may not be changed in an update.'));
    errs.push(...validateImmutableField(pc.preemptionPolicy, old.preemptionPolicy, 'preemptionPolicy'));
    return errs;
  },
  strategy: {},
  columns: [
    { name: 'Value', type: 'integer', description: 'value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.', cell: (pc) => pc.value },
    { name: 'Global-Default', type: 'boolean', description: 'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.', cell: (pc) => pc.globalDefault ?? false },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (pc, now) => translateTimestampSince(pc.metadata?.creationTimestamp, now) },
    { name: 'PreemptionPolicy', type: 'string', description: 'preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.', cell: (pc) => pc.preemptionPolicy ?? '' },
  ],
  examples: [
    {
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name: 'high-priority' },
      value: 1000000,
      globalDefault: false,
      description: 'For latency-sensitive services.',
    },
  ],
});
