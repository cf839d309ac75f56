/**
 * `skiff edit`: kubectl edit. The objects are written (YAML, or -o json) under kubectl's comment header to a
 * temp file and opened with $KUBE_EDITOR, $EDITOR or vi; the result is sent as the strategic merge patch from
 * the original (JSON merge patch for kinds without a schema). When the server rejects it the file is reopened
 * with the errors as comments, as kubectl does; an unchanged or empty file cancels.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { ApiError } from '../../client/index.ts';
import { CliError, MultiError, describeError } from '../errors.ts';
import { decodeManifest, filenameFlags } from '../manifests.ts';
import type { Info } from '../ops.ts';
import { collectInfos, infoPath, opLine } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { withoutManagedFields } from '../printers/objects.ts';
import { goJson, goYaml } from '../printers/encode.ts';
import { resourceGroup } from '../discovery.ts';

const HEADER = `# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
`;

/** Runs the editor on `file` through the shell (so KUBE_EDITOR may carry arguments); throws on failure. */
export function runEditor(ctx: CliContext, file: string): void {
  const editor = ctx.io.env['KUBE_EDITOR'] || ctx.io.env['EDITOR'] || 'vi';
  const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit', env: ctx.io.env as NodeJS.ProcessEnv });
  if (r.error) throw new CliError(`unable to launch the editor "${editor}"`);
  if (r.status !== 0) throw new CliError(`there was a problem with the editor "${editor}"`);
}

function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

/** `skiff edit`. */
export const command: VerbCommand = {
  use: 'edit (RESOURCE/NAME | -f FILENAME)',
  short: 'Edit a resource on the server.',
  flags: [
    ...filenameFlags('use to edit the resource'),
    { name: 'output', short: 'o', type: 'string', default: 'yaml', usage: 'Output format. One of: (json, yaml).' },
    { name: 'windows-line-endings', type: 'bool', usage: 'Defaults to the line ending native to your platform.' },
    { name: 'save-config', type: 'bool', usage: 'If true, the configuration of current object will be saved in its annotation.' },
    { name: 'validate', type: 'string', default: 'strict', noOptDefault: 'strict', usage: 'Must be one of: strict (or true), warn, ignore (or false).' },
    { name: 'field-manager', type: 'string', default: 'kubectl-edit', usage: 'Name of the manager used to track field ownership.' },
    { name: 'subresource', type: 'string', usage: 'If specified, edit will operate on the subresource of the requested object.' },
    { name: 'show-managed-fields', type: 'bool', usage: 'If true, keep the managedFields when printing objects in JSON or YAML format.' },
  ],
  async run(ctx, f) {
    const format = String(f.values['output']);
    if (format !== 'yaml' && format !== 'json') throw new CliError(`the flag 'output' must be one of yaml|json`);
    const infos = await collectInfos(ctx, f, { verb: 'edit', needObjects: true });
    // Objects from -f are re-read from the server: edit always edits live objects.
    for (const i of infos) i.obj = (await ctx.rest().request<Obj>({ path: infoPath(i) })).body;
    const dir = mkdtempSync(join(tmpdir(), 'skiff-edit-'));
    try {
      await editLoop(ctx, infos, { dir, format, fieldManager: String(f.values['field-manager']), showManaged: f.values['show-managed-fields'] === true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function render(objs: Obj[], format: string): string {
  const value: Obj = objs.length === 1 ? objs[0]! : { apiVersion: 'v1', kind: 'List', items: objs, metadata: {} };
  return format === 'json' ? `${goJson(value)}\n` : goYaml(value);
}

async function editLoop(ctx: CliContext, infos: Info[], o: { dir: string; format: string; fieldManager: string; showManaged: boolean }): Promise<void> {
  const originals = infos.map((i) => (o.showManaged ? i.obj! : withoutManagedFields(i.obj!)));
  const file = join(o.dir, `${Math.random().toString(36).slice(2)}.${o.format === 'json' ? 'json' : 'yaml'}`);
  let body = render(originals, o.format);
  let errorHeader = '';
  let lastEdited: string | undefined;
  for (;;) {
    writeFileSync(file, `${HEADER}${errorHeader}${body}`);
    runEditor(ctx, file);
    const edited = readFileSync(file, 'utf8');
    const content = stripComments(edited);
    if (content.trim() === '') {
      ctx.err('Edit cancelled, saved file was empty.\n');
      return;
    }
    if (errorHeader === '' && content === stripComments(`${HEADER}${body}`)) {
      ctx.err('Edit cancelled, no changes made.\n');
      return;
    }
    if (lastEdited !== undefined && content === lastEdited) {
      const keep = join(tmpdir(), `kubectl-edit-${Math.random().toString(36).slice(2)}.${o.format === 'json' ? 'json' : 'yaml'}`);
      writeFileSync(keep, edited);
      throw new CliError(`Edit cancelled, no valid changes were saved.\nA copy of your changes has been stored to ${JSON.stringify(keep)}`);
    }
    lastEdited = content;
    let objs: Obj[];
    try {
      objs = decodeManifest(content, 'edited file').map((m) => m.obj);
    } catch (e) {
      errorHeader = `# The edited file had a syntax error: ${e instanceof Error ? e.message : String(e)}\n#\n`;
      body = content;
      continue;
    }
    const errors: string[] = [];
    const failed: unknown[] = [];
    const { typeNodeFor } = await import('../../api/openapi/type-node.ts');
    const { createThreeWayMergePatch } = await import('../apply/three-way.ts');
    for (const obj of objs) {
      const idx = infos.findIndex((i) => i.name === obj.metadata?.name && i.resource.kind === obj.kind);
      const info = infos[idx];
      if (!info) {
        const keep = join(tmpdir(), `kubectl-edit-${Math.floor(Math.random() * 1e9)}.${o.format === 'json' ? 'json' : 'yaml'}`);
        writeFileSync(keep, edited);
        ctx.err(`A copy of your changes has been stored to ${JSON.stringify(keep)}\n`);
        throw new CliError('At least one of apiVersion, kind and name was changed');
      }
      const original = originals[idx]!;
      const schema = typeNodeFor({ group: info.resource.group, version: info.resource.version, kind: info.resource.kind });
      const patch = createThreeWayMergePatch(original as Record<string, unknown>, obj as Record<string, unknown>, original as Record<string, unknown>, { schema });
      if (Object.keys(patch).length === 0) {
        ctx.out(opLine(info.resource, info.name, 'skipped'));
        continue;
      }
      try {
        await ctx.rest().request({ method: 'PATCH', path: infoPath(info), body: patch, contentType: schema ? 'application/strategic-merge-patch+json' : 'application/merge-patch+json', query: { fieldManager: o.fieldManager } });
        ctx.out(opLine(info.resource, info.name, 'edited'));
      } catch (e) {
        failed.push(e);
        const msg = e instanceof ApiError ? describeError(e).message : e instanceof Error ? e.message : String(e);
        errors.push(`# ${resourceGroup(info.resource)} ${JSON.stringify(info.name)} was not valid:\n${msg.split('\n').map((l) => `# * ${l.replace(/^The .* is invalid: /, '')}`).join('\n')}`);
      }
    }
    if (errors.length === 0) return;
    if (failed.length > 0 && failed.every((e) => e instanceof ApiError && e.code !== 422)) throw new MultiError(failed);
    errorHeader = `${errors.join('\n')}\n#\n`;
    body = content;
  }
}
