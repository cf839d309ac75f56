/** RBAC rule matching and coverage (upstream pkg/apis/rbac/v1 evaluation helpers and validation.Covers). */
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import type { Attributes } from './user.ts';

function has(list: readonly string[] | undefined, v: string): boolean {
  if (!list) return false;
  for (const x of list) if (x === v || x === '*') return true;
  return false;
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    // "*/status" matches the status subresource of every resource.
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function nameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return name !== '' && names.includes(name);
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** RuleAllows: whether one rule allows the request. */
export function ruleAllows(a: Pick<Attributes, 'verb' | 'resourceRequest' | 'apiGroup' | 'resource' | 'subresource' | 'name' | 'path'>, rule: PolicyRule): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (a.resourceRequest) {
    return has(rule.apiGroups, a.apiGroup) && resourceMatches(rule, a.resource, a.subresource) && nameMatches(rule, a.name);
  }
  return urlMatches(rule, a.path);
}

/** Whether any rule allows the request. */
export function rulesAllow(a: Pick<Attributes, 'verb' | 'resourceRequest' | 'apiGroup' | 'resource' | 'subresource' | 'name' | 'path'>, rules: readonly PolicyRule[]): boolean {
  for (const r of rules) if (ruleAllows(a, r)) return true;
  return false;
}

/** Breaks a rule into rules of one verb, group, resource and name (or one verb and URL), as upstream's BreakdownRule. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        else for (const n of names) out.push({ apiGroups: [group], resources: [resource], resourceNames: [n], verbs: [verb] });
      }
    }
    for (const url of rule.nonResourceURLs ?? []) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

function covers1(owner: PolicyRule, servant: PolicyRule): boolean {
  const verb = servant.verbs![0]!;
  if (!has(owner.verbs, verb)) return false;
  if (servant.nonResourceURLs) {
    const url = servant.nonResourceURLs[0]!;
    for (const u of owner.nonResourceURLs ?? []) {
      if (u === '*' || u === url) return true;
      if (u.endsWith('*') && url.startsWith(u.slice(0, -1))) return true;
    }
    return false;
  }
  const group = servant.apiGroups![0]!;
  if (!(owner.apiGroups ?? []).some((g) => g === '*' || g === group)) return false;
  const res = servant.resources![0]!;
  const resOk = (owner.resources ?? []).some((r) => {
    if (r === '*' || r === res) return true;
    const slash = res.indexOf('/');
    return slash > 0 && r === `*${res.slice(slash)}`;
  });
  if (!resOk) return false;
  const ownerNames = owner.resourceNames ?? [];
  if (ownerNames.length === 0) return true;
  const sn = servant.resourceNames ?? [];
  return sn.length === 1 && ownerNames.includes(sn[0]!);
}

/** Covers: the servant rules not allowed by any owner rule (empty when the owner holds everything). */
export function uncoveredRules(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const s of servant) {
    for (const atom of breakdownRule(s)) {
      if (!owner.some((o) => covers1(o, atom))) missing.push(atom);
    }
  }
  return missing;
}

/** upstream CompactString: `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`. */
export function compactRuleString(r: PolicyRule): string {
  const parts: string[] = [];
  const q = (l: string[]) => `[${l.map((x) => JSON.stringify(x)).join(' ')}]`;
  if (r.apiGroups && r.apiGroups.length > 0) parts.push(`APIGroups:${q(r.apiGroups)}`);
  if (r.resources && r.resources.length > 0) parts.push(`Resources:${q(r.resources)}`);
  if (r.nonResourceURLs && r.nonResourceURLs.length > 0) parts.push(`NonResourceURLs:${q(r.nonResourceURLs)}`);
  if (r.resourceNames && r.resourceNames.length > 0) parts.push(`ResourceNames:${q(r.resourceNames)}`);
  parts.push(`Verbs:${q(r.verbs ?? [])}`);
  return `{${parts.join(', ')}}`;
}
