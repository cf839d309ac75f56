/**
 * `skiff taint`: kubectl taint — `key[=value]:Effect` adds (or with --overwrite replaces) a taint,
 * `key[:Effect]-` removes taints, on named nodes, -l selections or --all; `node/x tainted|untainted|modified`.
 */
import type { Taint } from 'kubernetes-types/core/v1.js';
import type { VerbCommand } from '../command.ts';
import { CliError, MultiError } from '../errors.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery, infoPath, opLine } from '../ops.ts';

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** Parses taint arguments into additions and removals (kubectl's ParseTaints). */
export function parseTaints(specs: string[]): { add: Taint[]; remove: Taint[] } {
  const add: Taint[] = [];
  const remove: Taint[] = [];
  for (const s of specs) {
    if (s.endsWith('-')) {
      const body = s.slice(0, -1);
      const [key, effect] = body.split(':') as [string, string | undefined];
      if (effect !== undefined && !EFFECTS.includes(effect)) throw new CliError(`invalid taint effect: ${effect}, unsupported taint effect`);
      remove.push(effect ? { key, effect } : ({ key } as Taint));
      continue;
    }
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new CliError(`invalid taint spec: ${s}, unknown taint spec`);
    const kv = s.slice(0, colon);
    const effect = s.slice(colon + 1);
    if (!EFFECTS.includes(effect)) throw new CliError(`invalid taint spec: ${s}, invalid taint effect: ${effect}, unsupported taint effect`);
    const eq = kv.indexOf('=');
    const t: Taint = { key: eq >= 0 ? kv.slice(0, eq) : kv, effect };
    if (eq >= 0) t.value = kv.slice(eq + 1);
    add.push(t);
  }
  return { add, remove };
}

/** `skiff taint`. */
export const command: VerbCommand = {
  use: 'taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N',
  short: 'Update the taints on one or more nodes',
  flags: [
    { name: 'overwrite', type: 'bool', usage: 'If true, allow taints to be overwritten, otherwise reject taint updates that overwrite existing taints.' },
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'all', type: 'bool', usage: 'Select all nodes in the cluster' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'field-manager', type: 'string', default: 'kubectl-taint', usage: 'Name of the manager used to track field ownership.' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    const resources: string[] = [];
    const specs: string[] = [];
    f.args.forEach((a, i) => {
      const isTaint = a.includes('=') || a.includes(':') || a.endsWith('-');
      if (isTaint && i > 0) specs.push(a);
      else if (specs.length === 0) resources.push(a);
      else throw new CliError(`all resources must be specified before taint changes: ${a}`);
    });
    if (specs.length === 0) throw new CliError('at least one taint update is required');
    const { add, remove } = parseTaints(specs);
    const dryRun = dryRunOf(f);
    const infos = await collectInfos(ctx, { ...f, args: resources }, { verb: 'taint', needObjects: true });
    const errors: unknown[] = [];
    for (const info of infos) {
      try {
        const old = ((info.obj?.['spec'] as { taints?: Taint[] } | undefined)?.taints ?? []).map((t) => ({ ...t }));
        let next = old.map((t) => ({ ...t }));
        let op = '';
        for (const t of add) {
          const same = next.findIndex((x) => x.key === t.key && x.effect === t.effect);
          if (same >= 0) {
            if (f.values['overwrite'] !== true) throw new CliError(`node ${info.name} already has ${t.key} taint(s) with same effect(s) and --overwrite is false`);
            next[same] = t;
            op = 'modified';
          } else {
            next.push(t);
          }
        }
        for (const t of remove) {
          const before = next.length;
          next = next.filter((x) => !(x.key === t.key && (!t.effect || x.effect === t.effect)));
          if (next.length === before) throw new CliError(`taint ${JSON.stringify(t.key + (t.effect ? `:${t.effect}` : ''))} not found`);
        }
        if (!op) op = remove.length > 0 && add.length === 0 ? 'untainted' : 'tainted';
        if (dryRun !== 'client') {
          await ctx.rest().request({ method: 'PATCH', path: infoPath(info), body: { spec: { taints: next.length > 0 ? next : null } }, contentType: 'application/merge-patch+json', query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } });
        }
        ctx.out(opLine(info.resource, info.name, op, dryRun));
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};
