/** Validation shared by the four RBAC kinds (upstream pkg/apis/rbac/validation), and subject defaulting. */
import type { PolicyRule, RoleRef, Subject } from 'kubernetes-types/rbac/v1.js';
import type { AggregationRule } from 'kubernetes-types/rbac/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { nameIsDNSSubdomain, validatePathSegmentName } from '../../meta/validation.ts';
import { labelSelectorFromMeta, SelectorParseError } from '../../meta/labels.ts';

/** The RBAC API group name. */
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** ValidatePolicyRule: verbs required; non-resource rules only cluster-wide and alone; resource rules need groups and resources. */
export function validatePolicyRule(rule: PolicyRule, opts: { namespaced: boolean; path: string }): FieldError[] {
  const errs: FieldError[] = [];
  const p = opts.path;
  if ((rule.verbs ?? []).length === 0) errs.push(fieldError.required(`${p}.verbs`, 'verbs must contain at least one value'));
  if ((rule.nonResourceURLs ?? []).length > 0) {
    if (opts.namespaced) errs.push(fieldError.invalid(`${p}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
    if ((rule.apiGroups ?? []).length > 0 || (rule.resources ?? []).length > 0 || (rule.resourceNames ?? []).length > 0) {
      errs.push(fieldError.invalid(`${p}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return errs;
  }
  if ((rule.apiGroups ?? []).length === 0) errs.push(fieldError.required(`${p}.apiGroups`, 'resource rules must supply at least one api group'));
  if ((rule.resources ?? []).length === 0) errs.push(fieldError.required(`${p}.resources`, 'resource rules must supply at least one resource'));
  return errs;
}

/** Validates every rule of a Role or ClusterRole. */
export function validateRules(rules: PolicyRule[] | undefined, opts: { namespaced: boolean }): FieldError[] {
  const errs: FieldError[] = [];
  if (rules !== undefined && rules !== null && !Array.isArray(rules)) return [fieldError.typeInvalid('rules', rules, 'must be a list')];
  (rules ?? []).forEach((r, i) => {
    if (r === null || typeof r !== 'object') errs.push(fieldError.typeInvalid(`rules[${i}]`, r, 'must be an object'));
    else errs.push(...validatePolicyRule(r, { namespaced: opts.namespaced, path: `rules[${i}]` }));
  });
  return errs;
}

/** ValidateClusterRole's aggregationRule part: at least one valid selector. */
export function validateAggregationRule(rule: AggregationRule | undefined): FieldError[] {
  if (!rule) return [];
  const sels = rule.clusterRoleSelectors ?? [];
  if (sels.length === 0) return [fieldError.required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil')];
  const errs: FieldError[] = [];
  sels.forEach((s, i) => {
    try {
      labelSelectorFromMeta(s);
    } catch (e) {
      errs.push(fieldError.invalid(`aggregationRule.clusterRoleSelectors[${i}]`, s, e instanceof SelectorParseError ? e.message : String(e)));
    }
  });
  return errs;
}

/** ValidateRoleBinding's roleRef part: the RBAC group, an allowed kind, a valid name. */
export function validateRoleRef(ref: RoleRef | undefined, kinds: string[]): FieldError[] {
  const r = ref ?? ({} as Partial<RoleRef>);
  const errs: FieldError[] = [];
  if (r.apiGroup !== RBAC_GROUP) errs.push(fieldError.notSupported('roleRef.apiGroup', r.apiGroup ?? '', [RBAC_GROUP]));
  if (!kinds.includes(r.kind ?? '')) errs.push(fieldError.notSupported('roleRef.kind', r.kind ?? '', kinds));
  if (!r.name) errs.push(fieldError.required('roleRef.name', ''));
  else for (const msg of validatePathSegmentName(r.name, false)) errs.push(fieldError.invalid('roleRef.name', r.name, msg));
  return errs;
}

/** ValidateRoleBindingSubject: a name; ServiceAccount (core group, namespace when cluster-wide), User or Group (RBAC group). */
export function validateSubject(s: Subject, opts: { namespaced: boolean; path: string }): FieldError[] {
  const errs: FieldError[] = [];
  const p = opts.path;
  if (!s.name) errs.push(fieldError.required(`${p}.name`, ''));
  switch (s.kind) {
    case 'ServiceAccount':
      if (s.name) for (const msg of nameIsDNSSubdomain(s.name, false)) errs.push(fieldError.invalid(`${p}.name`, s.name, msg));
      if (s.apiGroup) errs.push(fieldError.notSupported(`${p}.apiGroup`, s.apiGroup, ['']));
      if (!opts.namespaced && !s.namespace) errs.push(fieldError.required(`${p}.namespace`, ''));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== RBAC_GROUP) errs.push(fieldError.notSupported(`${p}.apiGroup`, s.apiGroup ?? '', [RBAC_GROUP]));
      break;
    default:
      errs.push(fieldError.notSupported(`${p}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

/** Validates every subject of a binding. */
export function validateSubjects(subjects: Subject[] | undefined, opts: { namespaced: boolean }): FieldError[] {
  if (subjects !== undefined && subjects !== null && !Array.isArray(subjects)) return [fieldError.typeInvalid('subjects', subjects, 'must be a list')];
  const errs: FieldError[] = [];
  (subjects ?? []).forEach((s, i) => {
    if (s === null || typeof s !== 'object') errs.push(fieldError.typeInvalid(`subjects[${i}]`, s, 'must be an object'));
    else errs.push(...validateSubject(s, { namespaced: opts.namespaced, path: `subjects[${i}]` }));
  });
  return errs;
}

/** SetDefaults_Subject: User and Group subjects default to the RBAC group, ServiceAccount to the core group. */
export function defaultSubjects(subjects: Subject[] | undefined): void {
  for (const s of subjects ?? []) {
    if (s === null || typeof s !== 'object') continue;
    if (s.apiGroup === undefined || s.apiGroup === '') {
      if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
      else if (s.kind === 'ServiceAccount') delete s.apiGroup;
    }
  }
}

/** The roleRef may not change in an update ("cannot change roleRef"). */
export function validateRoleRefUpdate(ref: RoleRef | undefined, old: RoleRef | undefined): FieldError[] {
  const same = (ref?.apiGroup ?? '') === (old?.apiGroup ?? '') && (ref?.kind ?? '') === (old?.kind ?? '') && (ref?.name ?? '') === (old?.name ?? '');
  return same ? [] : [fieldError.invalid('roleRef', ref, 'cannot change roleRef')];
}

/** The "Created At" cell of Role and ClusterRole tables (RFC 3339 in UTC). */
export function createdAt(ts: string | undefined): string {
  return ts ?? '';
}

/** Comma-joined subject names of a kind, for the wide columns of bindings. */
export function subjectNames(subjects: Subject[] | undefined, kind: 'User' | 'Group' | 'ServiceAccount'): string {
  return (subjects ?? []).filter((s) => s.kind === kind).map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name)).join(', ');
}
