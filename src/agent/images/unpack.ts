/**
 * Unpacks one image layer into its own directory in overlayfs form: regular entries as files, whiteouts
 * (`.wh.name`) as 0/0 character devices and opaque directories (`.wh..wh..opq`) as whiteouts of every name the
 * lower layers hold there (Node cannot set the `trusted.overlay.opaque` xattr; explicit whiteouts mean the same to
 * overlayfs and to the copy fallback). Paths are confined to the layer directory: `..` and symlinked parents are
 * refused, so a hostile layer cannot write outside it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { readTar, TarError } from './tar.ts';

/** Prefix of a whiteout file in a layer tar (OCI image spec, "Representing Changes"). */
export const whiteoutPrefix = '.wh.';
/** Name of the opaque-directory marker. */
export const opaqueMarker = '.wh..wh..opq';

/** Result of unpacking a layer. */
export interface UnpackResult {
  /** sha256 of the uncompressed tar (the layer's DiffID). */
  diffId: string;
  /** Bytes written to disk (file contents). */
  size: number;
}

/** Options of unpackLayer. */
export interface UnpackOptions {
  /** Directories of the layers below (bottom first), to turn opaque markers into whiteouts. */
  lowerDirs?: string[];
  /** Chown entries to their uid/gid (default: when running as root). */
  chown?: boolean;
}

function clean(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') return undefined;
    parts.push(p);
  }
  return parts.join('/');
}

/** Whether a directory entry is an overlayfs whiteout (a 0/0 character device). */
export function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Creates an overlayfs whiteout at `path`. */
export function makeWhiteout(path: string): void {
  fs.rmSync(path, { recursive: true, force: true });
  const r = spawnSync('mknod', [path, 'c', '0', '0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot create whiteout ${path}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Opens a layer blob as an uncompressed tar stream, deciding by magic bytes (media types disagree in the wild). */
function openLayer(blobPath: string): Readable {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(blobPath, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n >= 4 && head.readUInt32LE(0) === 0xfd2fb528) throw new TarError('zstd-compressed layers are not supported');
  const src = fs.createReadStream(blobPath);
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    src.on('error', (e) => gunzip.destroy(e));
    return src.pipe(gunzip);
  }
  return src;
}

/**
 * Unpacks the layer blob at `blobPath` (gzip or plain tar) into `dir` (created; must not exist yet). Resolves with
 * the DiffID; rejects (leaving `dir` for the caller to remove) on a malformed or hostile archive.
 */
export async function unpackLayer(blobPath: string, dir: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  fs.mkdirSync(dir, { recursive: true });
  const chown = opts.chown ?? process.getuid?.() === 0;
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const layer = openLayer(blobPath);
  layer.on('error', (e) => hashing.destroy(e));
  const tarStream = layer.pipe(hashing);
  const safeDirs = new Set<string>(['']);
  const dirTimes: { path: string; mtime: number }[] = [];
  const opaque: string[] = [];
  let size = 0;

  // Makes sure every parent of `rel` is a real directory inside `dir` (never a symlink).
  const ensureParent = (rel: string): void => {
    const parent = dirname(rel) === '.' ? '' : dirname(rel);
    if (safeDirs.has(parent)) return;
    let cur = '';
    for (const p of parent.split('/')) {
      cur = cur ? `${cur}/${p}` : p;
      if (safeDirs.has(cur)) continue;
      const abs = join(dir, cur);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(abs);
      } catch {
        st = undefined;
      }
      if (!st) fs.mkdirSync(abs, { mode: 0o755 });
      else if (!st.isDirectory()) throw new TarError(`layer entry ${rel} is below a non-directory ${cur}`);
      safeDirs.add(cur);
    }
  };

  const replace = (abs: string, keepDir: boolean): void => {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(abs);
    } catch {
      return;
    }
    if (keepDir && st.isDirectory()) return;
    fs.rmSync(abs, { recursive: true, force: true });
  };

  await readTar(tarStream, async (h, body) => {
    const rel = clean(h.name);
    if (rel === undefined) throw new TarError(`layer entry ${JSON.stringify(h.name)} escapes the root`);
    if (rel === '') return;
    ensureParent(rel);
    const abs = join(dir, rel);
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const parentRel = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (base === opaqueMarker) {
      opaque.push(parentRel);
      return;
    }
    if (base.startsWith(whiteoutPrefix)) {
      makeWhiteout(join(dir, parentRel, base.slice(whiteoutPrefix.length)));
      return;
    }
    switch (h.type) {
      case 'directory': {
        replace(abs, true);
        if (!fs.existsSync(abs)) fs.mkdirSync(abs);
        fs.chmodSync(abs, h.mode);
        if (chown) fs.chownSync(abs, h.uid, h.gid);
        safeDirs.add(rel);
        dirTimes.push({ path: abs, mtime: h.mtime });
        break;
      }
      case 'file': {
        replace(abs, false);
        const fd = fs.openSync(abs, 'w', 0o600);
        try {
          for await (const c of body.chunks()) {
            fs.writeSync(fd, c);
            size += c.length;
          }
          if (chown) fs.fchownSync(fd, h.uid, h.gid);
          fs.fchmodSync(fd, h.mode);
        } finally {
          fs.closeSync(fd);
        }
        fs.utimesSync(abs, h.mtime, h.mtime);
        break;
      }
      case 'symlink': {
        replace(abs, false);
        fs.symlinkSync(h.linkname, abs);
        if (chown) fs.lchownSync(abs, h.uid, h.gid);
        break;
      }
      case 'hardlink': {
        const target = clean(h.linkname);
        if (target === undefined || target === '') throw new TarError(`hard link ${rel} points outside the layer`);
        ensureParent(target);
        replace(abs, false);
        const st = fs.lstatSync(join(dir, target));
        if (!st.isFile()) throw new TarError(`hard link ${rel} does not point to a regular file`);
        fs.linkSync(join(dir, target), abs);
        break;
      }
      default:
        // Device nodes and FIFOs: the runtime provides /dev, and unprivileged layers rarely carry them.
        break;
    }
  });
  for (const o of opaque) {
    const present = new Set<string>();
    try {
      for (const n of fs.readdirSync(join(dir, o))) present.add(n);
    } catch {
      // the opaque directory itself had no other entries
    }
    fs.mkdirSync(join(dir, o), { recursive: true });
    for (const lower of opts.lowerDirs ?? []) {
      let names: string[];
      try {
        names = fs.readdirSync(join(lower, o));
      } catch {
        continue;
      }
      for (const n of names) {
        if (present.has(n)) continue;
        present.add(n);
        makeWhiteout(join(dir, o, n));
      }
    }
  }
  // Directory times last: writing entries into a directory updates its mtime.
  for (const d of dirTimes.reverse()) {
    try {
      fs.utimesSync(d.path, d.mtime, d.mtime);
    } catch {
      // replaced later in the same layer
    }
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

/** Copies `layerDir` over `target` as the next layer: whiteouts delete, directories merge, the rest replaces. */
export function applyLayerCopy(layerDir: string, target: string): void {
  const walk = (rel: string): void => {
    const src = join(layerDir, rel);
    for (const name of fs.readdirSync(src)) {
      const s = join(src, name);
      const d = join(target, rel, name);
      const st = fs.lstatSync(s);
      if (isWhiteout(st)) {
        fs.rmSync(d, { recursive: true, force: true });
        continue;
      }
      let dst: fs.Stats | undefined;
      try {
        dst = fs.lstatSync(d);
      } catch {
        dst = undefined;
      }
      if (st.isDirectory()) {
        if (dst && !dst.isDirectory()) fs.rmSync(d, { recursive: true, force: true });
        if (!dst || !dst.isDirectory()) fs.mkdirSync(d);
        fs.chmodSync(d, st.mode & 0o7777);
        fs.chownSync(d, st.uid, st.gid);
        walk(join(rel, name));
        fs.utimesSync(d, st.atime, st.mtime);
        continue;
      }
      if (dst) fs.rmSync(d, { recursive: true, force: true });
      if (st.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(s), d);
        fs.lchownSync(d, st.uid, st.gid);
      } else if (st.isFile()) {
        fs.copyFileSync(s, d);
        fs.chownSync(d, st.uid, st.gid);
        fs.chmodSync(d, st.mode & 0o7777);
        fs.utimesSync(d, st.atime, st.mtime);
      }
    }
  };
  fs.mkdirSync(target, { recursive: true });
  walk('');
}

/** Reads a whole stream (small blobs). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

