/**
 * kubectl's -f/--filename sources (cli-runtime's resource builder): files, directories (their .json/.yaml/.yml
 * files, recursively with -R), `-` for stdin and http(s) URLs; multi-document YAML and JSON streams; `List`
 * kinds flattened into their items. Decoding errors name the source and line, as kubectl's do.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { CliContext } from './context.ts';
import { CliError } from './errors.ts';
import type { Obj } from './printers/objects.ts';

/** One object read from a manifest, with the source name kubectl uses in messages (`STDIN`, the path, the URL). */
export interface ManifestObject {
  source: string;
  obj: Obj;
}

/** The -f/-R flags as a verb parsed them. */
export interface FilenameOptions {
  filenames: string[];
  recursive: boolean;
}

const EXTENSIONS = ['.json', '.yaml', '.yml'];

/** Reads every object named by -f (in command-line order, directories in name order). */
export async function readManifests(ctx: CliContext, opts: FilenameOptions): Promise<ManifestObject[]> {
  const out: ManifestObject[] = [];
  for (const name of opts.filenames) {
    if (name === '-') {
      out.push(...decodeManifest(await readStdin(ctx), 'STDIN'));
      continue;
    }
    if (/^https?:\/\//.test(name)) {
      const res = await fetch(name);
      if (!res.ok) throw new CliError(`unable to read URL "${name}", server reported ${res.status} ${res.statusText}, status code=${res.status}`);
      out.push(...decodeManifest(await res.text(), name));
      continue;
    }
    let st;
    try {
      st = statSync(name);
    } catch {
      throw new CliError(`the path "${name}" does not exist`);
    }
    if (st.isDirectory()) {
      for (const file of listDirectory(name, opts.recursive)) out.push(...decodeManifest(readFileSync(file, 'utf8'), file));
    } else {
      out.push(...decodeManifest(readFileSync(name, 'utf8'), name));
    }
  }
  return out;
}

function listDirectory(dir: string, recursive: boolean): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...listDirectory(p, recursive));
    } else if (EXTENSIONS.some((e) => entry.name.endsWith(e))) {
      files.push(p);
    }
  }
  return files;
}

/** Reads all of stdin as text. */
export async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Decodes a YAML or JSON stream into objects, flattening Lists; throws CliError naming `source` and the line. */
export function decodeManifest(text: string, source: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  // YAML 1.1 as sigs.k8s.io/yaml reads it (`yes`/`on` are booleans).
  const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line ?? 0;
      throw new CliError(`error parsing ${source}: error converting YAML to JSON: yaml: line ${line}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new CliError(`error validating "${source}": error validating data: invalid object to validate`);
    }
    flatten(value as Obj, source, out);
  }
  return out;
}

function flatten(o: Obj, source: string, out: ManifestObject[]): void {
  if (!o.kind) {
    throw new CliError(`unable to decode "${source}": Object 'Kind' is missing in '${JSON.stringify(o)}'`);
  }
  if (!o.apiVersion) {
    throw new CliError(`unable to decode "${source}": Object 'apiVersion' is missing in '${JSON.stringify(o)}'`);
  }
  if (o.kind.endsWith('List') && Array.isArray(o['items'])) {
    for (const item of o['items'] as Obj[]) flatten(item, source, out);
    return;
  }
  out.push({ source, obj: o });
}

/** The -f/-R flag specs verbs share. */
export const filenameFlags = (verb: string): { name: string; short?: string; type: 'stringSlice' | 'bool'; usage: string }[] => [
  { name: 'filename', short: 'f', type: 'stringSlice', usage: `Filename, directory, or URL to files to use to ${verb} the resource` },
  { name: 'recursive', short: 'R', type: 'bool', usage: 'Process the directory used in -f, --filename recursively.' },
];
