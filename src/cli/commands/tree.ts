/**
 * `skiff tree TYPE/NAME`: the ownership tree of an object (Deployment → ReplicaSets → Pods, Job → Pods, …),
 * found through ownerReferences across every listable namespaced resource of the object's namespace (and
 * cluster-scoped ones), with each object's readiness, the reason when not ready, and age.
 */
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import type { ApiResourceInfo } from '../discovery.ts';
import { CliError } from '../errors.ts';
import type { Obj } from '../printers/objects.ts';
import { resolveTargets, resourcePath } from '../resource-args.ts';
import { tabwrite } from '../printers/tabwriter.ts';
import { humanAge } from './get.ts';
import { colourEnabled, colourStatus } from '../printers/colour.ts';

interface Node {
  obj: Obj;
  children: Node[];
}

/** Readiness as kubectl-tree reads it: the Ready condition (Available for workloads), `-` without one. */
export function readiness(o: Obj): { ready: string; reason: string } {
  const conds = ((o['status'] as { conditions?: { type?: string; status?: string; reason?: string }[] } | undefined)?.conditions ?? []);
  const c = conds.find((x) => x.type === 'Ready') ?? conds.find((x) => x.type === 'Available') ?? conds.find((x) => x.type === 'Complete');
  if (c) return { ready: c.status ?? '-', reason: c.status === 'True' ? '' : (c.reason ?? '') };
  const st = o['status'] as { replicas?: number; readyReplicas?: number; phase?: string } | undefined;
  if (o.kind === 'ReplicaSet' && st) return { ready: (st.readyReplicas ?? 0) >= (st.replicas ?? 0) ? 'True' : 'False', reason: '' };
  return { ready: '-', reason: st?.phase && st.phase !== 'Active' ? st.phase : '' };
}

/** Lays out the tree rows (`└─`, `├─`, `│ `) as kubectl-tree does. */
export function treeLines(root: Node, o: { colour: boolean; now?: number }): string[] {
  const lines = ['NAMESPACE\tNAME\tREADY\tREASON\tAGE'];
  const walk = (n: Node, prefix: string, last: boolean, depth: number): void => {
    const { ready, reason } = readiness(n.obj);
    const branch = depth === 0 ? '' : `${prefix}${last ? '└─' : '├─'}`;
    const ns = n.obj.metadata?.namespace ?? '';
    lines.push(`${ns}\t${branch}${n.obj.kind ?? ''}/${n.obj.metadata?.name ?? ''}\t${o.colour && ready !== '-' ? colourStatus(ready) : ready}\t${reason}\t${humanAge(String(n.obj.metadata?.['creationTimestamp'] ?? ''), o.now)}`);
    const kids = [...n.children].sort((a, b) => `${a.obj.kind}/${a.obj.metadata?.name}`.localeCompare(`${b.obj.kind}/${b.obj.metadata?.name}`));
    kids.forEach((k, i) => walk(k, depth === 0 ? '' : `${prefix}${last ? '  ' : '│ '}`, i === kids.length - 1, depth + 1));
  };
  walk(root, '', true, 0);
  return lines;
}

async function listAll(ctx: CliContext, r: ApiResourceInfo, namespace: string | undefined): Promise<Obj[]> {
  try {
    const body = (await ctx.rest().request<{ items?: Obj[] }>({ path: resourcePath(r, { namespace }), query: { limit: 500 } })).body;
    return (body.items ?? []).map((it) => ({ apiVersion: r.group === '' ? r.version : `${r.group}/${r.version}`, kind: r.kind, ...it }));
  } catch {
    // Resources the user may not list are left out of the tree, as kubectl-tree does.
    return [];
  }
}

/** `skiff tree`. */
export const command: VerbCommand = {
  use: 'tree TYPE/NAME | TYPE NAME',
  short: 'Show the ownership tree of an object with the status of each descendant',
  flags: [],
  async run(ctx, f) {
    const targets = await resolveTargets(f.args, ctx.discovery(), { verb: 'skiff tree' });
    const t = targets[0];
    if (!t || t.name === undefined || targets.length !== 1) throw new CliError('exactly one object is required, as TYPE/NAME or TYPE NAME');
    const ns = t.resource.namespaced ? ctx.namespace() : undefined;
    const root = (await ctx.rest().request<Obj>({ path: resourcePath(t.resource, { namespace: ns, name: t.name }) })).body;
    root.kind ??= t.resource.kind;
    const resources = (await ctx.discovery().preferredResources()).filter((r) => r.verbs.includes('list') && !(r.group === '' && r.kind === 'Event') && !(r.group === 'events.k8s.io'));
    const lists = await Promise.all(resources.map((r) => listAll(ctx, r, r.namespaced ? (ns ?? undefined) : undefined)));
    const byOwner = new Map<string, Obj[]>();
    for (const o of lists.flat()) {
      for (const ref of (o.metadata?.['ownerReferences'] ?? []) as { uid?: string }[]) {
        if (!ref.uid) continue;
        const l = byOwner.get(ref.uid) ?? [];
        l.push(o);
        byOwner.set(ref.uid, l);
      }
    }
    const seen = new Set<string>();
    const build = (o: Obj): Node => {
      const uid = String(o.metadata?.['uid'] ?? '');
      seen.add(uid);
      return { obj: o, children: (byOwner.get(uid) ?? []).filter((c) => !seen.has(String(c.metadata?.['uid'] ?? ''))).map(build) };
    };
    const tree = build(root);
    ctx.out(tabwrite(treeLines(tree, { colour: colourEnabled(ctx.io.stdout, ctx.io.env) }), { minWidth: 0, padding: 2 }));
  },
};
