/**
 * The RBAC authorizer (upstream plugin/pkg/auth/authorizer/rbac): bindings indexed by subject, roles resolved
 * once per change of any RBAC object (aggregated ClusterRoles included), decisions cached until the next change.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import type { Attributes, Authorizer, Decision, UserInfo } from './user.ts';
import { rulesAllow } from './rbac-rules.ts';

/** The RBAC objects an authorizer reads, with a counter that changes whenever one of them changes. */
export interface RbacObjects {
  generation(): number;
  roles(): Iterable<Role>;
  clusterRoles(): Iterable<ClusterRole>;
  roleBindings(): Iterable<RoleBinding>;
  clusterRoleBindings(): Iterable<ClusterRoleBinding>;
}

interface BindingRef {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  name: string;
  /** "" for ClusterRoleBindings. */
  namespace: string;
  roleKind: string;
  roleName: string;
}

interface Index {
  generation: number;
  clusterRoleRules: Map<string, PolicyRule[]>;
  roleRules: Map<string, PolicyRule[]>;
  bySubject: Map<string, BindingRef[]>;
}

const userKey = (name: string) => `u:${name}`;
const groupKey = (name: string) => `g:${name}`;

function subjectKey(s: Subject, bindingNamespace: string): string | undefined {
  switch (s.kind) {
    case 'User':
      return userKey(s.name);
    case 'Group':
      return groupKey(s.name);
    case 'ServiceAccount':
      // A ServiceAccount subject is the user system:serviceaccount:<ns>:<name>; a RoleBinding defaults the namespace.
      return userKey(`system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`);
    default:
      return undefined;
  }
}

const MAX_CACHED_DECISIONS = 50_000;

/** Role-based access control over the cluster's Roles, ClusterRoles and their bindings. */
export class RbacAuthorizer implements Authorizer {
  private readonly objects: RbacObjects;
  private index: Index | null = null;
  private decisions = new Map<string, Decision>();

  constructor(objects: RbacObjects) {
    this.objects = objects;
  }

  private current(): Index {
    const gen = this.objects.generation();
    if (this.index && this.index.generation === gen) return this.index;
    this.decisions = new Map();
    this.index = buildIndex(this.objects, gen);
    return this.index;
  }

  /** Allows when a binding of the user (or one of its groups) grants a matching rule; otherwise no opinion. */
  authorize(a: Attributes): Decision {
    const idx = this.current();
    const key = decisionKey(a);
    const hit = this.decisions.get(key);
    if (hit) return hit;
    const d = this.decide(idx, a);
    if (this.decisions.size >= MAX_CACHED_DECISIONS) this.decisions.clear();
    this.decisions.set(key, d);
    return d;
  }

  private decide(idx: Index, a: Attributes): Decision {
    for (const b of bindingsOf(idx, a.user)) {
      if (b.namespace !== '' && b.namespace !== a.namespace) continue;
      const rules = rulesOfBinding(idx, b);
      if (rules && rulesAllow(a, rules)) {
        const where = b.namespace ? ` in ${b.namespace}` : '';
        return { decision: 'allow', reason: `RBAC: allowed by ${b.kind} "${b.name}${b.namespace ? `/${b.namespace}` : ''}" of ${b.roleKind} "${b.roleName}"${where} to ${a.user.name}` };
      }
    }
    return { decision: 'noopinion', reason: '' };
  }

  /** Every rule that applies to `user` in `namespace` ("" = cluster-wide rules only), as SelfSubjectRulesReview lists them. */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const idx = this.current();
    const out: PolicyRule[] = [];
    for (const b of bindingsOf(idx, user)) {
      if (b.namespace !== '' && b.namespace !== namespace) continue;
      out.push(...(rulesOfBinding(idx, b) ?? []));
    }
    return out;
  }

  /** The rules of a role reference as a binding in `namespace` would grant them (undefined if it does not exist). */
  roleRules(ref: { kind: string; name: string }, namespace: string): PolicyRule[] | undefined {
    const idx = this.current();
    return ref.kind === 'ClusterRole' ? idx.clusterRoleRules.get(ref.name) : idx.roleRules.get(`${namespace}/${ref.name}`);
  }
}

function decisionKey(a: Attributes): string {
  return [a.user.name, a.user.groups.join(','), a.verb, a.resourceRequest ? 'r' : 'n', a.apiGroup, a.resource, a.subresource, a.namespace, a.name, a.resourceRequest ? '' : a.path].join('\u0000');
}

function* bindingsOf(idx: Index, user: UserInfo): Generator<BindingRef> {
  const direct = idx.bySubject.get(userKey(user.name));
  if (direct) yield* direct;
  for (const g of user.groups) {
    const list = idx.bySubject.get(groupKey(g));
    if (list) yield* list;
  }
}

function rulesOfBinding(idx: Index, b: BindingRef): PolicyRule[] | undefined {
  if (b.roleKind === 'ClusterRole') return idx.clusterRoleRules.get(b.roleName);
  if (b.roleKind === 'Role' && b.namespace) return idx.roleRules.get(`${b.namespace}/${b.roleName}`);
  return undefined;
}

function buildIndex(objects: RbacObjects, generation: number): Index {
  const clusterRoles = [...objects.clusterRoles()];
  const clusterRoleRules = new Map<string, PolicyRule[]>();
  for (const cr of clusterRoles) clusterRoleRules.set(cr.metadata?.name ?? '', [...(cr.rules ?? [])]);
  // Aggregation (upstream's clusterrole-aggregation controller, applied at read time): a role with an
  // aggregationRule also holds the rules of every ClusterRole its selectors match.
  for (const cr of clusterRoles) {
    const sels = cr.aggregationRule?.clusterRoleSelectors ?? [];
    if (sels.length === 0) continue;
    const name = cr.metadata?.name ?? '';
    const rules = clusterRoleRules.get(name)!;
    const seen = new Set(rules.map((r) => JSON.stringify(r)));
    for (const sel of sels) {
      let parsed;
      try {
        parsed = labelSelectorFromMeta(sel);
      } catch {
        continue;
      }
      if (parsed.length === 0) continue;
      for (const other of clusterRoles) {
        if (other === cr || !matchesLabels(parsed, other.metadata?.labels)) continue;
        for (const r of other.rules ?? []) {
          const k = JSON.stringify(r);
          if (!seen.has(k)) {
            seen.add(k);
            rules.push(r);
          }
        }
      }
    }
  }
  const roleRules = new Map<string, PolicyRule[]>();
  for (const r of objects.roles()) roleRules.set(`${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`, r.rules ?? []);
  const bySubject = new Map<string, BindingRef[]>();
  const add = (subjects: Subject[] | undefined, ref: BindingRef): void => {
    for (const s of subjects ?? []) {
      const k = subjectKey(s, ref.namespace);
      if (!k) continue;
      let list = bySubject.get(k);
      if (!list) bySubject.set(k, (list = []));
      list.push(ref);
    }
  };
  for (const b of objects.clusterRoleBindings()) {
    add(b.subjects, { kind: 'ClusterRoleBinding', name: b.metadata?.name ?? '', namespace: '', roleKind: b.roleRef.kind, roleName: b.roleRef.name });
  }
  for (const b of objects.roleBindings()) {
    add(b.subjects, { kind: 'RoleBinding', name: b.metadata?.name ?? '', namespace: b.metadata?.namespace ?? '', roleKind: b.roleRef.kind, roleName: b.roleRef.name });
  }
  return { generation, clusterRoleRules, roleRules, bySubject };
}
