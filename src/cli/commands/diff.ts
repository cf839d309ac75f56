/**
 * `skiff diff`: kubectl diff. For every object of -f, the live object and the object as it would be after an
 * apply (computed by the server: a dry-run create, or the client-side apply patch — or with --server-side an
 * apply patch — sent with dryRun=All) are written as YAML into LIVE-* and MERGED-* temp directories, named
 * <group>.<version>.<Kind>.<namespace>.<name>, and compared with `diff -u -N` (or $KUBECTL_EXTERNAL_DIFF).
 * managedFields are left out and Secret data is masked as kubectl masks it. Exit code 1 means differences.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VerbCommand } from '../command.ts';
import { isNotFound } from '../../client/index.ts';
import { CliError } from '../errors.ts';
import { filenameFlags, readManifests } from '../manifests.ts';
import { infoForObject, infoPath } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { goYaml } from '../printers/encode.ts';
import { resourcePath } from '../resource-args.ts';
import { LAST_APPLIED } from './apply.ts';

function withoutLastApplied(obj: Obj): Obj {
  const copy = structuredClone(obj);
  const meta = (copy.metadata ??= {});
  const annotations = { ...((meta['annotations'] as Record<string, string> | undefined) ?? {}) };
  delete annotations[LAST_APPLIED];
  meta['annotations'] = annotations;
  return copy;
}

function clean(o: Obj | undefined): Obj | undefined {
  if (!o) return undefined;
  const meta = { ...(o.metadata ?? {}) };
  delete meta['managedFields'];
  return { ...o, metadata: meta };
}

/** Masks Secret values as kubectl diff does (`***` and `*** (before)`/`*** (after)` when they differ). */
export function maskSecrets(live: Obj | undefined, merged: Obj | undefined): void {
  if ((live?.kind ?? merged?.kind) !== 'Secret') return;
  const ld = (live?.['data'] ?? {}) as Record<string, string>;
  const md = (merged?.['data'] ?? {}) as Record<string, string>;
  for (const k of new Set([...Object.keys(ld), ...Object.keys(md)])) {
    if (k in ld && k in md && ld[k] !== md[k]) {
      ld[k] = '*** (before)';
      md[k] = '*** (after)';
    } else {
      if (k in ld) ld[k] = '***';
      if (k in md) md[k] = '***';
    }
  }
}

/** `skiff diff`. */
export const command: VerbCommand = {
  use: 'diff -f FILENAME',
  short: 'Diff the live version against a would-be applied version.',
  flags: [
    ...filenameFlags('contains the configuration to diff'),
    { name: 'server-side', type: 'bool', usage: 'If true, apply runs in the server instead of the client.' },
    { name: 'force-conflicts', type: 'bool', usage: 'If true, server-side apply will force the changes against conflicts.' },
    { name: 'field-manager', type: 'string', default: 'kubectl-client-side-apply', usage: 'Name of the manager used to track field ownership.' },
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'prune', type: 'bool', usage: 'Include resources that would be deleted by pruning.' },
    { name: 'show-managed-fields', type: 'bool', usage: 'If true, include managed fields in the diff.' },
    { name: 'concurrency', type: 'int', default: 1, usage: 'Number of objects to process in parallel when diffing against the live version.' },
  ],
  async run(ctx, f) {
    const filenames = (f.values['filename'] as string[]) ?? [];
    if (filenames.length === 0) throw new CliError('must specify one of -f and -k');
    const manifests = await readManifests(ctx, { filenames, recursive: f.values['recursive'] === true });
    // kubectl's layout: $TMPDIR/LIVE-<n> and $TMPDIR/MERGED-<n>.
    const liveDir = join(tmpdir(), `LIVE-${Math.floor(Math.random() * 1e10)}`);
    const mergedDir = join(tmpdir(), `MERGED-${Math.floor(Math.random() * 1e10)}`);
    mkdirSync(liveDir);
    mkdirSync(mergedDir);
    try {
      for (const m of manifests) {
        const info = await infoForObject(ctx, m.obj, m.source);
        let live: Obj | undefined;
        try {
          live = (await ctx.rest().request<Obj>({ path: infoPath(info) })).body;
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        let merged: Obj;
        if (f.values['server-side'] === true) {
          merged = (await ctx.rest().request<Obj>({ method: 'PATCH', path: infoPath(info), body: JSON.stringify(info.obj), contentType: 'application/apply-patch+yaml', query: { dryRun: 'All', fieldManager: 'kubectl', force: f.values['force-conflicts'] === true ? true : undefined } })).body;
        } else if (!live) {
          // kubectl diff merges without the last-applied annotation (GetModifiedConfiguration, annotate=false).
          const modified = withoutLastApplied(info.obj!);
          merged = (await ctx.rest().request<Obj>({ method: 'POST', path: resourcePath(info.resource, { namespace: info.namespace || undefined }), body: modified, query: { dryRun: 'All', fieldManager: String(f.values['field-manager']) } })).body;
        } else {
          const modified = withoutLastApplied(info.obj!);
          const annotations = (live.metadata?.['annotations'] ?? {}) as Record<string, string>;
          let original: Record<string, unknown> | undefined;
          try {
            original = annotations[LAST_APPLIED] ? (JSON.parse(annotations[LAST_APPLIED]) as Record<string, unknown>) : undefined;
          } catch {
            original = undefined;
          }
          const { typeNodeFor } = await import('../../api/openapi/type-node.ts');
          const { createThreeWayMergePatch } = await import('../apply/three-way.ts');
          const schema = typeNodeFor({ group: info.resource.group, version: info.resource.version, kind: info.resource.kind });
          const patch = createThreeWayMergePatch(original, modified as Record<string, unknown>, live as Record<string, unknown>, { schema });
          merged = Object.keys(patch).length === 0
            ? live
            : (await ctx.rest().request<Obj>({ method: 'PATCH', path: infoPath(info), body: patch, contentType: schema ? 'application/strategic-merge-patch+json' : 'application/merge-patch+json', query: { dryRun: 'All', fieldManager: String(f.values['field-manager']) } })).body;
        }
        const l = f.values['show-managed-fields'] === true ? live : clean(live);
        const mm = f.values['show-managed-fields'] === true ? merged : clean(merged)!;
        maskSecrets(l, mm);
        const group = info.resource.group === '' ? '' : info.resource.group;
        const fileName = `${group ? `${group}.` : ''}${info.resource.version}.${info.resource.kind}.${info.namespace ? `${info.namespace}.` : ''}${info.name}`;
        if (l) writeFileSync(join(liveDir, fileName), goYaml(l));
        writeFileSync(join(mergedDir, fileName), goYaml(mm));
      }
      const external = ctx.io.env['KUBECTL_EXTERNAL_DIFF'];
      const [cmd, ...args] = external ? external.split(/\s+/) : ['diff', '-u', '-N'];
      const r = spawnSync(cmd!, [...args, liveDir, mergedDir], { encoding: 'utf8' });
      if (r.error) throw new CliError(`executable file not found in $PATH: ${cmd}`);
      ctx.out(r.stdout ?? '');
      ctx.err(r.stderr ?? '');
      if (r.status === 0) return 0;
      if (r.status === 1) return 1;
      throw new CliError(`exit status ${r.status ?? 1}`);
    } finally {
      rmSync(liveDir, { recursive: true, force: true });
      rmSync(mergedDir, { recursive: true, force: true });
    }
  },
};
