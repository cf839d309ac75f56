/**
 * `skiff wait`: kubectl wait --for=delete, --for=create, --for=condition=NAME[=VALUE] and
 * --for=jsonpath='{expr}'[=VALUE] on named objects, -l selections or -f manifests, with --timeout (default 30s)
 * and kubectl's messages (`pod/x condition met`, `timed out waiting for the condition on pods/x`).
 */
import type { VerbCommand } from '../command.ts';
import { parseDuration } from '../flags.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import { collectInfos, noResourcesFound } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { kindGroup } from '../discovery.ts';
import type { Check } from '../waiter.ts';
import { findJsonPathValues, parseJsonPath, relaxedJsonPath } from '../printers/jsonpath.ts';
import { isNotFound } from '../../client/index.ts';

/** Parses --for into a check and the verb kubectl prints on success. */
export function conditionFor(spec: string): { check: (uid: string | undefined) => Check; met: string; kind: 'delete' | 'create' | 'condition' | 'jsonpath' } {
  if (spec === 'delete') return { kind: 'delete', met: 'deleted', check: (uid) => (o) => ({ done: o === undefined || (uid !== undefined && o.metadata?.['uid'] !== uid) }) };
  if (spec === 'create') return { kind: 'create', met: 'condition met', check: () => (o) => ({ done: o !== undefined }) };
  if (spec.startsWith('condition=')) {
    const rest = spec.slice('condition='.length);
    const i = rest.indexOf('=');
    const name = (i >= 0 ? rest.slice(0, i) : rest).toLowerCase();
    const want = (i >= 0 ? rest.slice(i + 1) : 'true').toLowerCase();
    return {
      kind: 'condition',
      met: 'condition met',
      check: () => (o) => {
        if (!o) return { done: false };
        const st = (o['status'] ?? {}) as { conditions?: { type?: string; status?: string; observedGeneration?: number }[] };
        const gen = o.metadata?.['generation'] as number | undefined;
        const c = (st.conditions ?? []).find((x) => (x.type ?? '').toLowerCase() === name);
        if (!c) return { done: false };
        if (c.observedGeneration !== undefined && gen !== undefined && c.observedGeneration < gen) return { done: false };
        return { done: (c.status ?? '').toLowerCase() === want };
      },
    };
  }
  if (spec.startsWith('jsonpath=')) {
    let expr = spec.slice('jsonpath='.length);
    let want: string | undefined;
    const m = /^(\{.*\})(?:=(.*))?$/s.exec(expr) ?? /^([^=]*)(?:=(.*))?$/s.exec(expr);
    if (m) {
      expr = m[1]!;
      want = m[2];
    }
    if (expr === '') throw new CliError('jsonpath expression cannot be empty');
    let tpl;
    try {
      tpl = parseJsonPath(relaxedJsonPath(expr));
    } catch (e) {
      throw new CliError(`unrecognized condition: ${JSON.stringify(spec)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return {
      kind: 'jsonpath',
      met: 'condition met',
      check: () => (o) => {
        if (!o) return { done: false };
        const vals = findJsonPathValues(tpl, o);
        if (vals.length === 0) return { done: false };
        if (want === undefined) return { done: true };
        if (vals.length > 1) return { done: false, error: new CliError(`given jsonpath expression matches more than one value`) };
        const v = vals[0];
        if (v !== null && typeof v === 'object') return { done: false, error: new CliError(`jsonpath leads to a nested object or list which is not supported`) };
        return { done: String(v) === want };
      },
    };
  }
  throw new CliError(`unrecognized condition: ${JSON.stringify(spec)}`);
}

/** `skiff wait`. */
export const command: VerbCommand = {
  use: "wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=create|--for=delete|--for condition=available|--for=jsonpath='{}'[=value]]",
  short: 'Experimental: Wait for a specific condition on one or many resources.',
  flags: [
    ...filenameFlags('identify the resource'),
    { name: 'for', type: 'string', usage: 'The condition to wait on: [create|delete|condition=condition-name[=condition-value]|jsonpath=\'{JSONPath expression}\'=[JSONPath value]].' },
    { name: 'timeout', type: 'duration', default: '30s', usage: 'The length of time to wait before giving up.  Zero means check once and don\'t wait, negative means wait for a week.' },
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'field-selector', type: 'string', usage: 'Selector (field query) to filter on.' },
    { name: 'all', type: 'bool', usage: 'Select all resources in the namespace of the specified resource types' },
    { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If present, list the requested object(s) across all namespaces.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'local', type: 'bool', usage: 'If true, annotation will NOT contact api-server but run locally.' },
  ],
  async run(ctx, f) {
    const forSpec = String(f.values['for']);
    const cond = conditionFor(forSpec);
    const t = parseDuration(String(f.values['timeout'])) ?? 30_000;
    const timeoutMs = t < 0 ? 7 * 24 * 3600 * 1000 : t;
    let infos;
    try {
      infos = await collectInfos(ctx, f, { verb: 'wait', allowEmpty: true, needObjects: cond.kind === 'condition' || cond.kind === 'jsonpath' });
    } catch (e) {
      if (isNotFound(e) && cond.kind === 'delete') return;
      throw e;
    }
    if (infos.length === 0) {
      if (cond.kind === 'delete') return;
      noResourcesFound(ctx, f);
      throw new CliError('no matching resources found');
    }
    const { waitForObject } = await import('../waiter.ts');
    const errors: unknown[] = [];
    for (const info of infos) {
      let uid: string | undefined = info.obj?.metadata?.['uid'] as string | undefined;
      if (cond.kind === 'delete' && uid === undefined) {
        try {
          uid = ((await ctx.rest().request<Obj>({ path: (await import('../ops.ts')).infoPath(info) })).body.metadata?.['uid'] as string | undefined);
        } catch (e) {
          if (isNotFound(e)) continue;
          throw e;
        }
      }
      try {
        const ok = await waitForObject(ctx, info, cond.check(uid), { timeoutMs });
        if (!ok) {
          errors.push(new CliError(`timed out waiting for the condition on ${info.resource.name}/${info.name}`));
          continue;
        }
        const output = String(f.values['output']);
        if (output === 'name') ctx.out(`${kindGroup(info.resource)}/${info.name}\n`);
        else ctx.out(`${kindGroup(info.resource)}/${info.name} ${cond.met}\n`);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};
