/**
 * `skiff cordon`, `uncordon` and `drain` (kubectl's drain package): mark nodes (un)schedulable with a patch of
 * spec.unschedulable; drain cordons, then evicts (or with --disable-eviction deletes) the node's pods, refusing
 * unmanaged pods without --force, DaemonSet pods without --ignore-daemonsets and emptyDir pods without
 * --delete-emptydir-data, and waits for them to be gone.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ParsedFlags } from '../flags.ts';
import { parseDuration } from '../flags.ts';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { isNotFound, isTooManyRequests } from '../../client/index.ts';
import { CliError, MultiError } from '../errors.ts';
import type { Info } from '../ops.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery, infoPath, opLine } from '../ops.ts';

const selectorFlags = [
  { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on' } as const,
  dryRunFlag,
];

async function nodeInfos(ctx: CliContext, f: ParsedFlags, verb: string): Promise<Info[]> {
  if (f.args.length === 0 && !String(f.values['selector'])) throw new CliError(`USAGE: ${verb} NODE [flags]\nSee '${`kubectl ${verb}`} -h' for help and examples`);
  return collectInfos(ctx, { ...f, args: f.args.length > 0 ? ['nodes', ...f.args] : ['nodes'] }, { verb, needObjects: true });
}

/** Sets spec.unschedulable on each node, printing kubectl's cordoned/uncordoned lines. */
export async function setUnschedulable(ctx: CliContext, infos: Info[], o: { value: boolean; dryRun: ReturnType<typeof dryRunOf> }): Promise<void> {
  const word = o.value ? 'cordoned' : 'uncordoned';
  const errors: unknown[] = [];
  for (const info of infos) {
    const current = (info.obj?.['spec'] as { unschedulable?: boolean } | undefined)?.unschedulable === true;
    if (current === o.value) {
      ctx.out(opLine(info.resource, info.name, `already ${word}`, o.dryRun));
      continue;
    }
    try {
      if (o.dryRun !== 'client') {
        await ctx.rest().request({ method: 'PATCH', path: infoPath(info), body: { spec: { unschedulable: o.value ? true : null } }, contentType: 'application/strategic-merge-patch+json', query: dryRunQuery(o.dryRun) });
      }
      ctx.out(opLine(info.resource, info.name, word, o.dryRun));
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw new MultiError(errors);
}

/** `skiff cordon`. */
export const command: VerbCommand = {
  use: 'cordon NODE',
  short: 'Mark node as unschedulable',
  flags: selectorFlags,
  async run(ctx, f) {
    await setUnschedulable(ctx, await nodeInfos(ctx, f, 'cordon'), { value: true, dryRun: dryRunOf(f) });
  },
};

/** `skiff uncordon`. */
export const uncordonCommand: VerbCommand = {
  use: 'uncordon NODE',
  short: 'Mark node as schedulable',
  flags: selectorFlags,
  async run(ctx, f) {
    await setUnschedulable(ctx, await nodeInfos(ctx, f, 'uncordon'), { value: false, dryRun: dryRunOf(f) });
  },
};

/** `skiff drain`. */
export const drainCommand: VerbCommand = {
  use: 'drain NODE',
  short: 'Drain node in preparation for maintenance',
  flags: [
    ...selectorFlags,
    { name: 'force', type: 'bool', usage: 'Continue even if there are pods that do not declare a controller.' },
    { name: 'ignore-daemonsets', type: 'bool', usage: 'Ignore DaemonSet-managed pods.' },
    { name: 'delete-emptydir-data', type: 'bool', usage: 'Continue even if there are pods using emptyDir (local data that will be deleted when the node is drained).' },
    { name: 'grace-period', type: 'int', default: -1, usage: 'Period of time in seconds given to each pod to terminate gracefully.' },
    { name: 'timeout', type: 'duration', default: '0s', usage: 'The length of time to wait before giving up, zero means infinite' },
    { name: 'disable-eviction', type: 'bool', usage: 'Force drain to use delete, even if eviction is supported.' },
    { name: 'pod-selector', type: 'string', usage: 'Label selector to filter pods on the node' },
    { name: 'skip-wait-for-delete-timeout', type: 'int', usage: 'If pod DeletionTimestamp older than N seconds, skip waiting for the pod.' },
    { name: 'chunk-size', type: 'int', default: 500, usage: 'Return large lists in chunks rather than all at once.' },
  ],
  async run(ctx, f) {
    const dryRun = dryRunOf(f);
    const nodes = await nodeInfos(ctx, f, 'drain');
    await setUnschedulable(ctx, nodes, { value: true, dryRun });
    const t = parseDuration(String(f.values['timeout'])) ?? 0;
    const pending: string[] = [];
    let firstError: string | undefined;
    for (const node of nodes) {
      const pods = (await ctx.rest().request<{ items?: Pod[] }>({ path: '/api/v1/pods', query: { fieldSelector: `spec.nodeName=${node.name}`, labelSelector: String(f.values['pod-selector']) || undefined } })).body.items ?? [];
      const problems = { unmanaged: [] as string[], daemonset: [] as string[], emptyDir: [] as string[] };
      const warnings = { unmanaged: [] as string[], daemonset: [] as string[], emptyDir: [] as string[] };
      const evict: Pod[] = [];
      for (const p of pods) {
        const id = `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
        if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') {
          evict.push(p);
          continue;
        }
        if (p.metadata?.annotations?.['kubernetes.io/config.mirror']) continue;
        const ctrl = (p.metadata?.ownerReferences ?? []).find((o) => o.controller);
        if (ctrl?.kind === 'DaemonSet') {
          (f.values['ignore-daemonsets'] === true ? warnings.daemonset : problems.daemonset).push(id);
          continue;
        }
        if (!ctrl) (f.values['force'] === true ? warnings.unmanaged : problems.unmanaged).push(id);
        if ((p.spec?.volumes ?? []).some((v) => v.emptyDir)) (f.values['delete-emptydir-data'] === true ? warnings.emptyDir : problems.emptyDir).push(id);
        evict.push(p);
      }
      const msgs: string[] = [];
      if (problems.unmanaged.length > 0) msgs.push(`cannot delete cannot delete Pods that declare no controller (use --force to override): ${problems.unmanaged.join(', ')}`);
      if (problems.daemonset.length > 0) msgs.push(`cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${problems.daemonset.join(', ')}`);
      if (problems.emptyDir.length > 0) msgs.push(`cannot delete Pods with local storage (use --delete-emptydir-data to override): ${problems.emptyDir.join(', ')}`);
      if (msgs.length > 0) {
        const text = msgs.join(', ');
        ctx.err(`error: unable to drain node "${node.name}" due to error: ${text}, continuing command...\n`);
        firstError ??= text;
        pending.push(node.name);
        continue;
      }
      const warn: string[] = [];
      if (warnings.daemonset.length > 0) warn.push(`ignoring DaemonSet-managed Pods: ${warnings.daemonset.join(', ')}`);
      if (warnings.unmanaged.length > 0) warn.push(`deleting Pods that declare no controller: ${warnings.unmanaged.join(', ')}`);
      if (warnings.emptyDir.length > 0) warn.push(`deleting Pods with local storage: ${warnings.emptyDir.join(', ')}`);
      if (warn.length > 0) ctx.err(`Warning: ${warn.join('; ')}\n`);
      const grace = Number(f.values['grace-period']);
      for (const p of evict) {
        const ns = p.metadata?.namespace ?? '';
        const name = p.metadata?.name ?? '';
        if (dryRun !== 'client') {
          const deleteOptions: Record<string, unknown> = grace >= 0 ? { gracePeriodSeconds: grace } : {};
          if (f.values['disable-eviction'] === true) {
            await ctx.rest().request({ method: 'DELETE', path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`, body: { kind: 'DeleteOptions', apiVersion: 'v1', ...deleteOptions }, query: dryRunQuery(dryRun) });
          } else {
            ctx.err(`evicting pod ${ns}/${name}\n`);
            for (;;) {
              try {
                await ctx.rest().request({
                  method: 'POST',
                  path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/eviction`,
                  body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns }, deleteOptions: Object.keys(deleteOptions).length > 0 ? deleteOptions : undefined },
                  query: dryRunQuery(dryRun),
                });
                break;
              } catch (e) {
                if (isNotFound(e)) break;
                if (!isTooManyRequests(e)) throw e;
                ctx.err(`error when evicting pods/"${name}" -n "${ns}" (will retry after 5s): ${(e as Error).message}\n`);
                await new Promise((r) => setTimeout(r, 5000));
              }
            }
          }
        }
        if (dryRun === 'none') {
          const { deletedCheck, waitForObject } = await import('../waiter.ts');
          const podInfo: Info = { resource: { name: 'pods', singularName: 'pod', namespaced: true, group: '', version: 'v1', kind: 'Pod', verbs: [], shortNames: [], categories: [] }, namespace: ns, name };
          const ok = await waitForObject(ctx, podInfo, deletedCheck(p.metadata?.uid), { timeoutMs: t > 0 ? t : 7 * 24 * 3600 * 1000 });
          if (!ok) throw new CliError(`drain did not complete within ${String(f.values['timeout'])}`);
        }
        ctx.out(`pod/${name} ${f.values['disable-eviction'] === true ? 'deleted' : 'evicted'}${dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : ''}\n`);
      }
      ctx.out(opLine(node.resource, node.name, 'drained', dryRun));
    }
    if (pending.length > 0) {
      throw new CliError(`There are pending nodes to be drained:\n${pending.map((n) => ` ${n}`).join('\n')}\n${firstError ?? ''}`, { raw: true });
    }
  },
};
