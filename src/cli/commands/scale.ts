/**
 * `skiff scale`: kubectl scale through the scale subresource, with --current-replicas and --resource-version
 * preconditions, -l/--all/-f selection, --dry-run and --timeout (wait for status.replicas to match).
 */
import type { VerbCommand } from '../command.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import { parseDuration } from '../flags.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery, infoPath, noResourcesFound, opLine } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject } from '../printers/objects.ts';

/** `skiff scale`. */
export const command: VerbCommand = {
  use: 'scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME)',
  short: 'Set a new size for a deployment, replica set, or replication controller.',
  flags: [
    ...filenameFlags('set a new size'),
    { name: 'replicas', type: 'int', default: -1, usage: 'The new desired number of replicas. Required.' },
    { name: 'current-replicas', type: 'int', default: -1, usage: 'Precondition for current size.' },
    { name: 'resource-version', type: 'string', usage: 'Precondition for resource version.' },
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'all', type: 'bool', usage: 'Select all resources in the namespace of the specified resource types' },
    { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If true, check the specified action in all namespaces.' },
    { name: 'timeout', type: 'duration', default: '0s', usage: 'The length of time to wait before giving up on a scale operation.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    if (!f.changed.has('replicas')) throw new CliError('required flag(s) "replicas" not set');
    const replicas = Number(f.values['replicas']);
    if (replicas < 0) throw new CliError('The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0');
    const dryRun = dryRunOf(f);
    const infos = await collectInfos(ctx, f, { verb: 'scale', allowEmpty: true });
    if (infos.length === 0) return noResourcesFound(ctx, f);
    const current = Number(f.values['current-replicas']);
    const rv = String(f.values['resource-version']);
    const errors: unknown[] = [];
    for (const info of infos) {
      try {
        const scale = (await ctx.rest().request<Obj & { spec?: { replicas?: number } }>({ path: infoPath(info, 'scale') })).body;
        if (current >= 0 && (scale.spec?.replicas ?? 0) !== current) throw new CliError(`Expected replicas to be ${current}, was ${scale.spec?.replicas ?? 0}`);
        if (rv && scale.metadata?.['resourceVersion'] !== rv) throw new CliError(`Expected resource version to be ${rv}, was ${String(scale.metadata?.['resourceVersion'] ?? '')}`);
        let result: Obj = scale;
        if (dryRun !== 'client') {
          const meta: Record<string, unknown> = {};
          if (rv) meta['resourceVersion'] = rv;
          result = (await ctx.rest().request<Obj>({ method: 'PATCH', path: infoPath(info, 'scale'), body: { ...(rv ? { metadata: meta } : {}), spec: { replicas } }, contentType: 'application/merge-patch+json', query: dryRunQuery(dryRun) })).body;
        }
        const output = String(f.values['output']);
        if (output) ctx.out(printObject(output, result));
        else ctx.out(opLine(info.resource, info.name, 'scaled', dryRun));
        const t = parseDuration(String(f.values['timeout'])) ?? 0;
        if (t > 0 && dryRun === 'none') {
          const { waitForObject } = await import('../waiter.ts');
          const ok = await waitForObject(ctx, { ...info }, (o) => ({ done: ((o?.['status'] as { replicas?: number } | undefined)?.replicas ?? 0) === replicas }), { timeoutMs: t });
          if (!ok) throw new CliError('timed out waiting for the condition');
        }
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};
