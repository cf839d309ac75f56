/**
 * `skiff replace`: kubectl replace -f (PUT of every object, taking the live resourceVersion when the file has
 * none), `--force` (delete, wait until gone, create), --dry-run, -o, --save-config.
 */
import type { VerbCommand } from '../command.ts';
import { isNotFound } from '../../client/index.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags, readManifests } from '../manifests.ts';
import { addSourceToErr, dryRunFlag, dryRunOf, dryRunQuery, infoForObject, infoPath, opLine } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject, withoutManagedFields } from '../printers/objects.ts';
import { resourcePath } from '../resource-args.ts';
import { withLastApplied } from './create.ts';

/** `skiff replace`. */
export const command: VerbCommand = {
  use: 'replace -f FILENAME',
  short: 'Replace a resource by file name or stdin.',
  flags: [
    ...filenameFlags('replace'),
    { name: 'force', type: 'bool', usage: 'If true, immediately remove resources from API and bypass graceful deletion.' },
    { name: 'grace-period', type: 'int', default: -1, usage: 'Period of time in seconds given to the resource to terminate gracefully.' },
    { name: 'cascade', type: 'string', default: 'background', noOptDefault: 'background', usage: 'Must be "background", "orphan", or "foreground".' },
    { name: 'wait', type: 'bool', usage: 'If true, wait for resources to be gone before returning.' },
    { name: 'timeout', type: 'duration', default: '0s', usage: 'The length of time to wait before giving up on a delete.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'save-config', type: 'bool', usage: 'If true, the configuration of current object will be saved in its annotation.' },
    { name: 'validate', type: 'string', default: 'strict', noOptDefault: 'strict', usage: 'Must be one of: strict (or true), warn, ignore (or false).' },
    { name: 'field-manager', type: 'string', default: 'kubectl-replace', usage: 'Name of the manager used to track field ownership.' },
    { name: 'subresource', type: 'string', usage: 'If specified, replace will operate on the subresource of the requested object.' },
    { name: 'raw', type: 'string', usage: 'Raw URI to PUT to the server.' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    const filenames = (f.values['filename'] as string[]) ?? [];
    if (filenames.length === 0) throw new CliError('must specify --filename to replace');
    const dryRun = dryRunOf(f);
    const manifests = await readManifests(ctx, { filenames, recursive: f.values['recursive'] === true });
    if (manifests.length === 0) throw new CliError('no objects passed to replace');
    const errors: unknown[] = [];
    const output = String(f.values['output']);
    const sub = String(f.values['subresource']) || undefined;
    for (const m of manifests) {
      try {
        const info = await infoForObject(ctx, m.obj, m.source);
        let obj: Obj = f.values['save-config'] === true ? withLastApplied(info.obj!) : info.obj!;
        const query = { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) };
        let result: Obj = obj;
        if (f.values['force'] === true) {
          if (dryRun !== 'client') {
            try {
              await ctx.rest().request({ method: 'DELETE', path: infoPath(info), body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', ...(Number(f.values['grace-period']) >= 0 ? { gracePeriodSeconds: Number(f.values['grace-period']) } : {}) }, query: dryRunQuery(dryRun) });
              ctx.out(`${info.resource.kind.toLowerCase()}${info.resource.group ? `.${info.resource.group}` : ''} "${info.name}" deleted${dryRun === 'server' ? ' (server dry run)' : ''}\n`);
              if (dryRun === 'none') {
                const { deletedCheck, waitForObject } = await import('../waiter.ts');
                await waitForObject(ctx, info, deletedCheck(undefined), { timeoutMs: 7 * 24 * 3600 * 1000 });
              }
            } catch (e) {
              if (!isNotFound(e)) throw e;
            }
            const meta = { ...(obj.metadata ?? {}) };
            delete meta['resourceVersion'];
            obj = { ...obj, metadata: meta };
            result = (await ctx.rest().request<Obj>({ method: 'POST', path: resourcePath(info.resource, { namespace: info.namespace || undefined }), body: obj, query })).body;
          }
          if (output) ctx.out(printObject(output, withoutManagedFields(result)));
          else ctx.out(opLine(info.resource, info.name, 'replaced', dryRun));
          continue;
        }
        if (dryRun !== 'client') {
          if (!obj.metadata?.['resourceVersion']) {
            const live = (await ctx.rest().request<Obj>({ path: infoPath(info, sub) })).body;
            obj = { ...obj, metadata: { ...obj.metadata, resourceVersion: live.metadata?.['resourceVersion'] } };
          }
          result = (await ctx.rest().request<Obj>({ method: 'PUT', path: infoPath(info, sub), body: obj, query })).body;
        }
        if (output) ctx.out(printObject(output, withoutManagedFields(result)));
        else ctx.out(opLine(info.resource, info.name, 'replaced', dryRun));
      } catch (e) {
        if (e instanceof CliError && e.raw) throw e;
        errors.push(addSourceToErr(e, 'replacing', m.source));
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};
