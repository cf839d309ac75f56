/** policy/v1 PodDisruptionBudget: validation, status strategy and Table columns. */
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { validateNonnegative, validateObjectMeta, validateObjectMetaUpdate, validatePathSegmentName } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import {
  bumpGenerationIf, creationTimestampDoc, deepEqual, initGeneration, isNotMoreThan100Percent, setField,
  validateLabelSelector, validatePositiveIntOrPercent,
} from '../../apps/v1/workload.ts';

/** ValidatePodDisruptionBudgetSpec: one of minAvailable/maxUnavailable, int-or-percent ≤ 100%, selector, eviction policy. */
export function validatePodDisruptionBudgetSpec(pdb: PodDisruptionBudget): FieldError[] {
  const spec = pdb.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    errs.push(fieldError.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  }
  for (const f of ['minAvailable', 'maxUnavailable'] as const) {
    if (spec[f] !== undefined) {
      errs.push(...validatePositiveIntOrPercent(spec[f], `spec.${f}`));
      errs.push(...isNotMoreThan100Percent(spec[f], `spec.${f}`));
    }
  }
  errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy !== undefined && policy !== 'AlwaysAllow' && policy !== 'IfHealthyBudget') {
    errs.push(fieldError.notSupported('spec.unhealthyPodEvictionPolicy', policy, ['AlwaysAllow', 'IfHealthyBudget']));
  }
  return errs;
}

/** ValidatePodDisruptionBudgetStatusUpdate's counters: all non-negative. */
export function validatePodDisruptionBudgetStatus(pdb: PodDisruptionBudget): FieldError[] {
  const s = pdb.status;
  if (!s) return [];
  const errs: FieldError[] = [];
  for (const f of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'] as const) {
    errs.push(...validateNonnegative(s[f], `status.${f}`));
  }
  return errs;
}

function intOrString(v: number | string | undefined): string {
  return v === undefined ? 'N/A' : String(v);
}

/** The policy/v1 PodDisruptionBudget kind. */
export const podDisruptionBudgets = defineResource<PodDisruptionBudget>({
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  namespaced: true,
  shortNames: ['pdb'],
  subresources: { status: true },
  validate: (pdb) => [
    // Upstream only applies the generic path-segment rule to PDB names.
    ...validateObjectMeta(pdb.metadata, { namespaced: true, nameValidator: validatePathSegmentName, path: 'metadata' }),
    ...validatePodDisruptionBudgetSpec(pdb),
    ...validatePodDisruptionBudgetStatus(pdb),
  ],
  validateUpdate: (pdb, old) => validateObjectMetaUpdate(pdb.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
  strategy: {
    prepareForCreate: (pdb) => {
      // These four counters have no omitempty upstream.
      setField(pdb, 'status', { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
      initGeneration(pdb.metadata);
    },
    prepareForUpdate: (pdb, old) => {
      setField(pdb, 'status', old.status);
      bumpGenerationIf(!deepEqual(pdb.spec, old.spec), pdb.metadata, old.metadata);
    },
    prepareForStatusUpdate: (pdb, old) => {
      pdb.spec = old.spec;
    },
    generation: true,
  },
  columns: [
    { name: 'Min Available', type: 'string', description: 'The minimum number of pods that must be available.', cell: (p) => intOrString(p.spec?.minAvailable) },
    { name: 'Max Unavailable', type: 'string', description: 'The maximum number of pods that may be unavailable.', cell: (p) => intOrString(p.spec?.maxUnavailable) },
    { name: 'Allowed Disruptions', type: 'integer', description: 'Calculated number of pods that may be disrupted at this time.', cell: (p) => p.status?.disruptionsAllowed ?? 0 },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (p, now) => translateTimestampSince(p.metadata?.creationTimestamp, now) },
  ],
  examples: [
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web-pdb', namespace: 'default' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } },
    },
  ],
});
