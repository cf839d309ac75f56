/**
 * `skiff delete`: kubectl delete by names, `type/name`, -f manifests, -l, --field-selector or --all, with
 * --cascade (background/foreground/orphan), --grace-period, --now, --force, --ignore-not-found, --dry-run and
 * --wait (on by default: each deleted object is watched until it is gone).
 */
import type { VerbCommand } from '../command.ts';
import { isNotFound } from '../../client/index.ts';
import { kindGroup } from '../discovery.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import { parseDuration } from '../flags.ts';
import type { Info } from '../ops.ts';
import { addSourceToErr, collectInfos, dryRunFlag, dryRunOf, dryRunQuery, dryRunSuffix, infoPath } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';

/** `skiff delete`. */
export const command: VerbCommand = {
  use: 'delete ([-f FILENAME] | [-k DIRECTORY] | TYPE [(NAME | -l label | --all)])',
  short: 'Delete resources by file names, stdin, resources and names, or by resources and label selector.',
  flags: [
    ...filenameFlags('delete'),
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'field-selector', type: 'string', usage: 'Selector (field query) to filter on.' },
    { name: 'all', type: 'bool', usage: 'Delete all resources, in the namespace of the specified resource types.' },
    { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If present, list the requested object(s) across all namespaces.' },
    { name: 'cascade', type: 'string', default: 'background', noOptDefault: 'background', usage: 'Must be "background", "orphan", or "foreground".' },
    { name: 'grace-period', type: 'int', default: -1, usage: 'Period of time in seconds given to the resource to terminate gracefully.' },
    { name: 'now', type: 'bool', usage: 'If true, resources are signaled for immediate shutdown (same as --grace-period=1).' },
    { name: 'force', type: 'bool', usage: 'If true, immediately remove resources from API and bypass graceful deletion.' },
    { name: 'ignore-not-found', type: 'bool', usage: 'Treat "resource not found" as a successful delete.' },
    { name: 'wait', type: 'bool', default: true, usage: 'If true, wait for resources to be gone before returning.' },
    { name: 'timeout', type: 'duration', default: '0s', usage: 'The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output mode. Use "-o name" for shorter output (resource/name).' },
    { name: 'interactive', short: 'i', type: 'bool', usage: 'If true, delete resource only when user confirms.' },
    { name: 'raw', type: 'string', usage: 'Raw URI to DELETE to the server.' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    const dryRun = dryRunOf(f);
    const raw = String(f.values['raw']);
    if (raw) {
      const res = await ctx.rest().request<unknown>({ method: 'DELETE', path: raw, accept: 'application/json, */*' });
      ctx.out(typeof res.body === 'string' ? res.body : JSON.stringify(res.body));
      return;
    }
    let cascade = String(f.values['cascade']);
    if (cascade === 'true') cascade = 'background';
    if (cascade === 'false') {
      ctx.err('warning: --cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.\n');
      cascade = 'orphan';
    }
    if (!['background', 'foreground', 'orphan'].includes(cascade)) throw new CliError(`invalid cascade value (${cascade}). Must be "background", "foreground", or "orphan".`);
    let grace = Number(f.values['grace-period']);
    const force = f.values['force'] === true;
    if (f.values['now'] === true) {
      if (grace !== -1) throw new CliError('--now and --grace-period cannot be specified together');
      grace = 1;
    }
    if (force && grace < 0) grace = 0;
    // kubectl turns --grace-period=0 without --force into 1, to avoid an accidental immediate deletion.
    if (grace === 0 && !force) grace = 1;
    if (force && grace === 0) ctx.err('Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
    if (f.values['all'] === true && String(f.values['selector'])) throw new CliError('cannot set --all and --selector at the same time');
    const ignoreNotFound = f.values['ignore-not-found'] === true || (f.values['all'] === true && !f.changed.has('ignore-not-found')) || (String(f.values['selector']) !== '' && !f.changed.has('ignore-not-found'));
    const infos = await collectInfos(ctx, f, { verb: 'delete', allowEmpty: true });
    if (infos.length === 0) {
      // kubectl delete reports an empty selection on stdout, without the namespace.
      ctx.out('No resources found\n');
      return;
    }
    const propagation = cascade === 'orphan' ? 'Orphan' : cascade === 'foreground' ? 'Foreground' : 'Background';
    const errors: unknown[] = [];
    const deleted: { info: Info; uid?: string }[] = [];
    const output = String(f.values['output']);
    for (const info of infos) {
      const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: propagation };
      if (grace >= 0) body['gracePeriodSeconds'] = grace;
      try {
        let uid: string | undefined;
        if (dryRun === 'client') {
          if (!info.obj) await ctx.rest().request<Obj>({ path: infoPath(info) });
        } else {
          const res = await ctx.rest().request<Obj>({ method: 'DELETE', path: infoPath(info), body, query: dryRunQuery(dryRun) });
          const st = res.body as { kind?: string; details?: { uid?: string }; metadata?: { uid?: string } };
          uid = st.kind === 'Status' ? st.details?.uid : st.metadata?.uid;
        }
        deleted.push({ info, uid });
        if (output === 'name') ctx.out(`${kindGroup(info.resource)}/${info.name}\n`);
        else ctx.out(`${kindGroup(info.resource)} "${info.name}" ${force && grace === 0 ? 'force deleted' : 'deleted'}${dryRunSuffix(dryRun)}\n`);
      } catch (e) {
        if (isNotFound(e) && ignoreNotFound) continue;
        errors.push(addSourceToErr(e, 'deleting', info.source));
      }
    }
    if (f.values['wait'] === true && dryRun === 'none' && deleted.length > 0) {
      const { deletedCheck, waitForObject } = await import('../waiter.ts');
      const t = parseDuration(String(f.values['timeout'])) ?? 0;
      const timeoutMs = t > 0 ? t : 7 * 24 * 3600 * 1000;
      for (const d of deleted) {
        const ok = await waitForObject(ctx, d.info, deletedCheck(d.uid), { timeoutMs });
        if (!ok) errors.push(new CliError(`timed out waiting for the condition on ${d.info.resource.name}/${d.info.name}`));
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};
