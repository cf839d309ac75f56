/**
 * `skiff patch`: kubectl patch with strategic (default), merge and json patches given as JSON or YAML
 * (`-p` or `--patch-file`), on objects or a subresource, with --dry-run, --local and -o; `(no change)` when
 * the resourceVersion did not move.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { VerbCommand } from '../command.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery, infoPath, opLine } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject, withoutManagedFields } from '../printers/objects.ts';

const contentTypes: Record<string, string> = {
  strategic: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

/** `skiff patch`. */
export const command: VerbCommand = {
  use: "patch (-f FILENAME | TYPE NAME) [-p PATCH|--patch-file FILE]",
  short: 'Update fields of a resource.',
  flags: [
    ...filenameFlags('update'),
    { name: 'patch', short: 'p', type: 'string', usage: 'The patch to be applied to the resource JSON file.' },
    { name: 'patch-file', type: 'string', usage: 'A file containing a patch to be applied to the resource.' },
    { name: 'type', type: 'string', default: 'strategic', usage: 'The type of patch being provided; one of [json merge strategic]' },
    { name: 'local', type: 'bool', usage: 'If true, patch will operate on the content of the file, not the server-side resource.' },
    { name: 'subresource', type: 'string', usage: 'If specified, patch will operate on the subresource of the requested object.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'field-manager', type: 'string', default: 'kubectl-patch', usage: 'Name of the manager used to track field ownership.' },
    { name: 'show-managed-fields', type: 'bool', usage: 'If true, keep the managedFields when printing objects in JSON or YAML format.' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    const type = String(f.values['type']);
    const contentType = contentTypes[type];
    if (!contentType) throw new CliError(`--type must be one of [json merge strategic], not ${JSON.stringify(type)}`);
    let text = String(f.values['patch']);
    const file = String(f.values['patch-file']);
    if (text && file) throw new CliError('--patch and --patch-file are mutually exclusive');
    if (file) text = readFileSync(file, 'utf8');
    if (!text) throw new CliError('must specify --patch or --patch-file containing the contents of the patch');
    let body: unknown;
    try {
      // YAML 1.1 as sigs.k8s.io/yaml reads it (`y`, `yes`, `on` are booleans).
      body = parseYaml(text, { version: '1.1' });
    } catch (e) {
      throw new CliError(`unable to parse "${text}": ${e instanceof Error ? e.message : String(e)}`);
    }
    const dryRun = dryRunOf(f);
    const sub = String(f.values['subresource']) || undefined;
    const infos = await collectInfos(ctx, f, { verb: 'patch' });
    const errors: unknown[] = [];
    for (const info of infos) {
      try {
        const before = (await ctx.rest().request<Obj>({ path: infoPath(info, sub) })).body;
        const res = await ctx.rest().request<Obj>({
          method: 'PATCH',
          path: infoPath(info, sub),
          body,
          contentType,
          query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) },
        });
        const output = String(f.values['output']);
        if (output) {
          ctx.out(printObject(output, f.values['show-managed-fields'] === true ? res.body : withoutManagedFields(res.body)));
          continue;
        }
        const unchanged = before.metadata?.['resourceVersion'] === res.body.metadata?.['resourceVersion'];
        ctx.out(opLine(info.resource, info.name, unchanged ? 'patched (no change)' : 'patched', dryRun));
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};
