/**
 * `skiff cp`: kubectl cp, tar over exec. To a pod: `test -d DEST` decides whether the source goes into DEST or
 * becomes DEST, then a tar stream built here (Go archive/tar's layout, names relative to DEST's parent) feeds
 * `tar -xmf - -C DIR` (`--no-same-permissions --no-same-owner` with --no-preserve). From a pod: `tar cf - SRC`
 * runs in the container and its archive is unpacked here with kubectl's rules (the remote prefix stripped,
 * members outside the destination and symlinks skipped with kubectl's warnings). kubectl 1.32 sends the remote
 * tar's stderr (and its `Defaulted container` notice) to stdout when copying from a pod and does not fail on the
 * remote exit code; so does this.
 */
import { closeSync, lstatSync, openSync, mkdirSync, readdirSync, readlinkSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { bodyPadding, encodeHeader, readTar, tarTrailer } from '../tar.ts';
import type { TarHeader } from '../tar.ts';
import { pickContainer } from './exec.ts';

/** A parsed `[[namespace/]pod:]file/path`. */
export interface FileSpec {
  podName: string;
  podNamespace: string;
  file: string;
}

const formatError = 'filespec must match the canonical format: [[namespace/]pod:]file/path';

/** Strips one trailing slash (not from "/"), as kubectl's path specs do. */
function stripTrailingSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** kubectl's extractFileSpec: local when there is no colon, else pod (optionally namespace/pod) and remote path. */
export function parseFileSpec(arg: string): FileSpec {
  const i = arg.indexOf(':');
  if (i === 0) throw new CliError(formatError);
  if (i < 0) return { podName: '', podNamespace: '', file: stripTrailingSlash(arg) };
  const pieces = arg.slice(0, i).split('/');
  const file = stripTrailingSlash(arg.slice(i + 1).replaceAll('\\', '/'));
  if (pieces.length === 1) return { podName: pieces[0]!, podNamespace: '', file };
  if (pieces.length === 2) return { podNamespace: pieces[0]!, podName: pieces[1]!, file };
  throw new CliError(formatError);
}

/** kubectl's stripPathShortcuts: drops leading "../", a lone "." or "..", and one leading "/". */
export function stripPathShortcuts(p: string): string {
  let s = p;
  while (s.startsWith('../')) s = s.slice(3);
  if (s === '.' || s === '..') s = '';
  return s.startsWith('/') ? s.slice(1) : s;
}

const errnoText: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'file exists',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
};

/** A Node fs error worded as Go's *PathError (`open /x: is a directory`). */
function goPathError(op: string, p: string, e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? '';
  return new CliError(`${op} ${p}: ${errnoText[code] ?? (e instanceof Error ? e.message : String(e))}`);
}

/** Go's os.MkdirAll (0755), with its errors. */
function mkdirAll(p: string): void {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw goPathError('stat', p, e);
  }
  if (st) {
    if (st.isDirectory()) return;
    throw goPathError('mkdir', p, { code: 'ENOTDIR' });
  }
  const parent = path.dirname(p);
  if (parent !== p) mkdirAll(parent);
  try {
    mkdirSync(p, 0o755);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(p).isDirectory()) return;
    throw goPathError('mkdir', p, e);
  }
}

/** Go's filepath.Rel(base, target) check in kubectl's isRelative: target is base or below it. */
function isRelative(base: string, target: string): boolean {
  const rel = path.relative(path.resolve(base), path.resolve(target));
  if (rel === '') return true;
  return rel === stripPathShortcuts(rel) && !path.isAbsolute(rel);
}

/** kubectl's makeTar/recursiveTar: members named from `dest`'s base, files, symlinks and empty directories only. */
export async function* localTar(src: string, dest: string): AsyncGenerator<Buffer> {
  const srcPath = path.normalize(src);
  const destPath = path.posix.normalize(dest);
  yield* walk(srcPath, path.posix.basename(destPath));
  yield tarTrailer;
}

async function* walk(fpath: string, name: string): AsyncGenerator<Buffer> {
  let st;
  try {
    st = lstatSync(fpath);
  } catch (e) {
    throw goPathError('lstat', fpath, e);
  }
  const base: Omit<TarHeader, 'type' | 'size' | 'linkname'> = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
  if (st.isDirectory()) {
    let entries: string[];
    try {
      entries = readdirSync(fpath).sort();
    } catch (e) {
      throw goPathError('open', fpath, e);
    }
    if (entries.length === 0) yield encodeHeader({ ...base, type: 'directory', size: 0, linkname: '' });
    for (const f of entries) yield* walk(path.join(fpath, f), path.posix.join(name, f));
    return;
  }
  if (st.isSymbolicLink()) {
    yield encodeHeader({ ...base, type: 'symlink', size: 0, linkname: readlinkSync(fpath) });
    return;
  }
  if (!st.isFile()) return;
  yield encodeHeader({ ...base, type: 'file', size: st.size, linkname: '' });
  let fd: number;
  try {
    fd = openSync(fpath, 'r');
  } catch (e) {
    throw goPathError('open', fpath, e);
  }
  try {
    let left = st.size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, 256 * 1024));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw new CliError('archive/tar: missed writing ' + String(left) + ' bytes');
      left -= n;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
  yield bodyPadding(st.size);
}

/** Unpacks a tar stream into `dest` as kubectl's untarAll does. */
export async function untarAll(ctx: CliContext, source: AsyncIterable<Buffer | string>, o: { prefix: string; dest: string; src: string; namespace: string; pod: string; program: string }): Promise<void> {
  let symlinkWarned = false;
  await readTar(source, async (h, body) => {
    if (!h.name.startsWith(o.prefix)) throw new CliError('tar contents corrupted');
    const rest = stripTrailingSlash(h.name.slice(o.prefix.length));
    // Go's filepath.Join cleans the result, trailing slash included.
    const destFile = stripTrailingSlash(path.join(o.dest, rest));
    if (!isRelative(o.dest, destFile)) {
      ctx.err(`warning: file ${JSON.stringify(destFile)} is outside target destination, skipping\n`);
      return;
    }
    mkdirAll(path.dirname(destFile));
    if (h.type === 'directory') {
      mkdirAll(destFile);
      return;
    }
    if (h.type === 'symlink') {
      if (!symlinkWarned) {
        ctx.err(`warning: skipping symlink: ${JSON.stringify(destFile)} -> ${JSON.stringify(h.linkname)} (consider using "${o.program} exec -n ${JSON.stringify(o.namespace)} ${JSON.stringify(o.pod)} -- tar cf - ${JSON.stringify(o.src)} | tar xf -")\n`);
        symlinkWarned = true;
      } else {
        ctx.err(`warning: skipping symlink: ${JSON.stringify(destFile)} -> ${JSON.stringify(h.linkname)}\n`);
      }
      return;
    }
    let fd: number;
    try {
      fd = openSync(destFile, 'w', 0o666);
    } catch (e) {
      throw goPathError('open', destFile, e);
    }
    try {
      await body((chunk) => {
        writeSync(fd, chunk);
      });
    } finally {
      closeSync(fd);
    }
  });
}

function execPath(pod: Pod): string {
  return `/api/v1/namespaces/${encodeURIComponent(pod.metadata?.namespace ?? '')}/pods/${encodeURIComponent(pod.metadata?.name ?? '')}/exec`;
}

function execQuery(command: string[], container: string, stdin: boolean): [string, string][] {
  const q: [string, string][] = command.map((c) => ['command', c] as [string, string]);
  q.push(['container', container]);
  if (stdin) q.push(['stdin', 'true']);
  q.push(['stdout', 'true'], ['stderr', 'true']);
  return q;
}

async function targetPod(ctx: CliContext, spec: FileSpec): Promise<Pod> {
  const ns = spec.podNamespace || ctx.namespace();
  const pod = (await ctx.rest().request<Pod>({ path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(spec.podName)}` })).body;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') throw new CliError(`cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`);
  return pod;
}

const sink = { write: (): boolean => true };

async function copyToPod(ctx: CliContext, src: FileSpec, dest: FileSpec, o: { container: string; noPreserve: boolean }): Promise<number> {
  try {
    statSync(src.file);
  } catch {
    throw new CliError(`${src.file} doesn't exist in local filesystem`);
  }
  const pod = await targetPod(ctx, dest);
  const container = pickContainer(ctx, pod, o.container, false);
  const { streamRemoteCommand } = await import('../streaming.ts');
  let destFile = dest.file;
  // kubectl's checkDestinationIsDir: its output (and any error) is discarded, only success matters.
  const isDir = await streamRemoteCommand(ctx, execPath(pod), execQuery(['test', '-d', dest.file], container, false), { stdin: false, tty: false, stderr: true, streams: { stdout: sink, stderr: sink } })
    .then((r) => r.exitCode === 0 && r.failure === undefined, () => false);
  if (isDir) destFile = path.posix.join(destFile, path.basename(path.normalize(src.file)));
  const cmd = o.noPreserve ? ['tar', '--no-same-permissions', '--no-same-owner', '-xmf', '-'] : ['tar', '-xmf', '-'];
  const destDir = path.posix.dirname(destFile);
  if (destDir.length > 0) cmd.push('-C', destDir);
  let tarError: unknown;
  const archive = Readable.from((async function* () {
    try {
      yield* localTar(src.file, destFile);
    } catch (e) {
      tarError = e;
    }
  })());
  const r = await streamRemoteCommand(ctx, execPath(pod), execQuery(cmd, container, true), { stdin: true, tty: false, stderr: true, streams: { stdin: archive } });
  if (tarError) throw tarError;
  if (r.failure !== undefined) throw new CliError(r.failure);
  if (r.exitCode !== 0) {
    ctx.err(`command terminated with exit code ${r.exitCode}\n`);
    return r.exitCode;
  }
  return 0;
}

async function copyFromPod(ctx: CliContext, src: FileSpec, dest: FileSpec, o: { container: string; retries: number; program: string }): Promise<void> {
  const pod = await targetPod(ctx, src);
  // kubectl 1.32 gives this exec its stdout as the error stream: the container notice lands there too.
  const container = pickContainer({ err: (s) => ctx.out(s) }, pod, o.container, false);
  const { streamRemoteCommand } = await import('../streaming.ts');
  const prefix = stripPathShortcuts(path.posix.normalize(src.file.replace(/^[/\\]+/, '')));
  const archive = new PassThrough({ highWaterMark: 1 << 20 });
  let bytesRead = 0;
  const counted = { write: (b: Uint8Array): boolean => { bytesRead += b.length; return archive.write(b); }, once: (ev: 'drain', fn: () => void) => archive.once(ev, fn) };
  const controller = new AbortController();
  const untar = untarAll(ctx, archive, { prefix, dest: dest.file, src: src.file, namespace: src.podNamespace, pod: src.podName, program: o.program });
  // An unpacking failure ends the copy at once: nobody reads the rest of the archive.
  const failed = untar.then(() => undefined, (e: unknown) => {
    controller.abort();
    archive.destroy();
    return e;
  });
  let retries = 0;
  const session = (async () => {
    for (;;) {
      const command = o.retries !== 0 ? ['sh', '-c', `tar cf - ${src.file} | tail -c+${bytesRead + (retries > 0 ? 1 : 0)}`] : ['tar', 'cf', '-', src.file];
      try {
        await streamRemoteCommand(ctx, execPath(pod), execQuery(command, container, false), { stdin: false, tty: false, stderr: true, signal: controller.signal, streams: { stdout: counted, stderr: { write: (b) => ctx.io.stdout.write(b) } } });
        break;
      } catch (e) {
        if (controller.signal.aborted) return;
        if (o.retries < 0 || retries < o.retries) {
          retries++;
          ctx.out(`Resuming copy at ${bytesRead} bytes, retry ${retries}/${o.retries}\n`);
          continue;
        }
        archive.destroy();
        throw e;
      }
    }
    archive.end();
  })();
  const [sessionResult, untarResult] = await Promise.allSettled([session, failed]);
  // A failed session also cuts the archive short: its own error is the one to report.
  if (sessionResult.status === 'rejected') throw sessionResult.reason;
  if (untarResult.status === 'fulfilled' && untarResult.value !== undefined) throw untarResult.value;
}

/** `skiff cp`. */
export const command: VerbCommand = {
  use: 'cp <file-spec-src> <file-spec-dest>',
  short: 'Copy files and directories to and from containers.',
  flags: [
    { name: 'container', short: 'c', type: 'string', usage: 'Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen' },
    { name: 'no-preserve', type: 'bool', usage: "The copied file/directory's ownership and permissions will not be preserved in the container" },
    { name: 'retries', type: 'int', default: 0, usage: 'Set number of retries to complete a copy operation from a container. Specify 0 to disable or any negative value for infinite retrying. The default is 0 (no retry).' },
  ],
  async run(ctx, f) {
    if (f.args.length !== 2) throw new CliError('source and destination are required');
    const src = parseFileSpec(f.args[0]!);
    const dest = parseFileSpec(f.args[1]!);
    if (src.podName && dest.podName) throw new CliError('one of src or dest must be a local file specification');
    if (src.file === '' || dest.file === '') throw new CliError('filepath can not be empty');
    const container = String(f.values['container']);
    if (src.podName) {
      await copyFromPod(ctx, src, dest, { container, retries: Number(f.values['retries']), program: ctx.commandPath.split(' ')[0] ?? 'skiff' });
      return 0;
    }
    if (dest.podName) return copyToPod(ctx, src, dest, { container, noPreserve: f.values['no-preserve'] === true });
    throw new CliError('one of src or dest must be a remote file specification');
  },
};
