/**
 * The content-addressed image store under the agent's data dir:
 *
 *   blobs/sha256/<hex>     manifests, configs and layer blobs, each verified against its digest when written
 *   layers/<chainid-hex>/  each layer unpacked once, in overlayfs form, named by its chain ID and shared by images
 *   images.json            image records (id = config digest, tags, digests, layers, runtime config, last use)
 *
 * Writes are atomic (temp file, then rename) so that a failed pull leaves nothing half-stored. The metadata file is
 * guarded by a lock directory because `skiff images` may run while the agent does.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { sleep } from '../../base/clock.ts';
import { logger } from '../../base/log.ts';
import { assertDigest, chainIds, digestHex, DigestMismatchError, isDigest, sha256Digest } from './digest.ts';
import type { Descriptor, ImageConfigFile, ImageRuntimeConfig, Manifest, Platform } from './oci.ts';
import { formatPlatform, hostPlatform, platformMatches } from './oci.ts';
import { normalizeReference, parseReference, repositoryName } from './reference.ts';
import { unpackLayer } from './unpack.ts';

const log = logger('image-store');
/** How stale an image's lastUsed may get before a container start rewrites it (GC works in minutes). */
const touchEveryMs = 60_000;

/** The image store directory inside an agent data dir (shared by the agent and `skiff images`). */
export function imageStoreDir(dataDir: string): string {
  return join(dataDir, 'images');
}

/** One stored image. */
export interface ImageRecord {
  /** The config digest (CRI's image id). */
  id: string;
  manifestDigest: string;
  /** Normalised references naming this image (`docker.io/library/busybox:latest`). */
  repoTags: string[];
  /** `repository@manifestDigest` for each repository the image came from. */
  repoDigests: string[];
  layers: Descriptor[];
  diffIds: string[];
  chainIds: string[];
  /** Bytes of the config and layer blobs. */
  size: number;
  config: ImageRuntimeConfig;
  platform: Platform;
  createdAt: number;
  lastUsed: number;
}

interface Meta {
  version: 1;
  images: Record<string, ImageRecord>;
}

/** An image that is not in the store. */
export class ImageNotFoundError extends Error {
  override readonly name = 'ImageNotFoundError';
}

/** An image for another platform. */
export class PlatformMismatchError extends Error {
  override readonly name = 'PlatformMismatchError';
}

/** Options of ImageStore.gc. */
export interface GcOptions {
  /** Image ids that running or created containers use: never removed. */
  inUse?: Set<string>;
  /** Start collecting at this disk usage (default 85, the kubelet's imageGCHighThresholdPercent). */
  highThresholdPercent?: number;
  /** Collect until usage is below this (default 80, imageGCLowThresholdPercent). */
  lowThresholdPercent?: number;
  /** Images used more recently than this are kept (default 2 min, imageMinimumGCAge). */
  minAgeMs?: number;
  /** Disk usage source (tests). */
  diskUsage?: () => { totalBytes: number; usedBytes: number };
}

/** Options of ImageStore.addImage. */
export interface AddImageOptions {
  /** References to tag the image with. */
  names?: string[];
  /** Platform the image must be for (default: this machine's). */
  platform?: Platform;
}

/** The store; `open()` it before use. */
export class ImageStore {
  readonly root: string;
  private readonly unpacking = new Map<string, Promise<void>>();
  private metaCache: { key: string; meta: Meta } | undefined;

  constructor(root: string) {
    this.root = root;
  }

  /** Creates the directory layout. */
  open(): this {
    for (const d of ['blobs/sha256', 'layers', 'tmp']) fs.mkdirSync(join(this.root, d), { recursive: true });
    // Leftovers of an interrupted write are never valid content.
    for (const n of fs.readdirSync(join(this.root, 'tmp'))) fs.rmSync(join(this.root, 'tmp', n), { recursive: true, force: true });
    return this;
  }

  // --- blobs ---

  /** Path of a blob (whether or not present). */
  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  /** Whether a blob is present. */
  hasBlob(digest: string): boolean {
    return isDigest(digest) && fs.existsSync(this.blobPath(digest));
  }

  /** A blob's bytes; throws when absent. */
  readBlob(digest: string): Buffer {
    return fs.readFileSync(this.blobPath(digest));
  }

  /** The first `n` bytes of a blob. */
  readBlobHead(digest: string, n: number): Buffer {
    const fd = fs.openSync(this.blobPath(digest), 'r');
    try {
      const b = Buffer.alloc(n);
      return b.subarray(0, fs.readSync(fd, b, 0, n, 0));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A blob parsed as JSON. */
  readJson<T>(digest: string): T {
    return JSON.parse(this.readBlob(digest).toString('utf8')) as T;
  }

  /** Stores bytes; with `expected`, refuses content that does not match. Returns the digest. */
  putBlob(data: Buffer, expected?: string): string {
    const digest = sha256Digest(data);
    if (expected !== undefined && expected !== digest) throw new DigestMismatchError(expected, digest);
    if (this.hasBlob(digest)) return digest;
    const tmp = this.tmpPath();
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, this.blobPath(digest));
    return digest;
  }

  /**
   * Streams content into the store, verifying it against `expected` (and `expectedSize`) when given; content that
   * does not match is discarded. Resolves with the digest.
   */
  async ingest(stream: Readable | AsyncIterable<Uint8Array>, opts: { expected?: string; expectedSize?: number } = {}): Promise<string> {
    if (opts.expected !== undefined) assertDigest(opts.expected);
    const tmp = this.tmpPath();
    const hash = createHash('sha256');
    let size = 0;
    const fd = fs.openSync(tmp, 'w');
    try {
      for await (const c of stream as AsyncIterable<Uint8Array>) {
        hash.update(c);
        size += c.length;
        fs.writeSync(fd, c);
      }
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    const digest = `sha256:${hash.digest('hex')}`;
    if ((opts.expected !== undefined && digest !== opts.expected) || (opts.expectedSize !== undefined && opts.expectedSize !== size)) {
      fs.rmSync(tmp, { force: true });
      if (opts.expected !== undefined && digest !== opts.expected) throw new DigestMismatchError(opts.expected, digest);
      throw new Error(`size mismatch for ${opts.expected}: expected ${opts.expectedSize} bytes, got ${size}`);
    }
    if (this.hasBlob(digest)) fs.rmSync(tmp, { force: true });
    else fs.renameSync(tmp, this.blobPath(digest));
    return digest;
  }

  private tmpPath(): string {
    return join(this.root, 'tmp', randomBytes(8).toString('hex'));
  }

  // --- layers ---

  /** Directory of an unpacked layer stack, by chain ID. */
  layerDir(chainId: string): string {
    return join(this.root, 'layers', digestHex(chainId));
  }

  /** The unpacked layer directories of an image, bottom first. */
  layerDirs(img: ImageRecord): string[] {
    return img.chainIds.map((c) => this.layerDir(c));
  }

  /** Unpacks every layer of `img` that is not unpacked yet; checks each DiffID against the image config. */
  async ensureUnpacked(img: Pick<ImageRecord, 'layers' | 'diffIds' | 'chainIds'>): Promise<void> {
    for (let i = 0; i < img.layers.length; i++) {
      const chainId = img.chainIds[i]!;
      const dir = this.layerDir(chainId);
      if (fs.existsSync(dir)) continue;
      let p = this.unpacking.get(chainId);
      if (!p) {
        const lowers = img.chainIds.slice(0, i).map((c) => this.layerDir(c));
        p = this.unpackOne(img.layers[i]!, img.diffIds[i]!, dir, lowers).finally(() => this.unpacking.delete(chainId));
        this.unpacking.set(chainId, p);
      }
      await p;
    }
  }

  private async unpackOne(layer: Descriptor, diffId: string, dir: string, lowerDirs: string[]): Promise<void> {
    const tmp = this.tmpPath();
    const t0 = Date.now();
    try {
      const r = await unpackLayer(this.blobPath(layer.digest), tmp, { lowerDirs });
      if (r.diffId !== diffId) throw new DigestMismatchError(diffId, r.diffId);
      try {
        fs.renameSync(tmp, dir);
      } catch (e) {
        // Another process unpacked the same layer first.
        if (!fs.existsSync(dir)) throw e;
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      log.v(2).info('layer unpacked', { layer: layer.digest, ms: Date.now() - t0 });
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  // --- images ---

  /**
   * Records an image whose manifest, config and layer blobs are all in the store: checks the platform, unpacks the
   * layers and tags it with `names` (a name moves from any image that had it). Returns the record.
   */
  async addImage(manifestDigest: string, opts: AddImageOptions = {}): Promise<ImageRecord> {
    const manifest = this.readJson<Manifest>(manifestDigest);
    if (!manifest.config || !Array.isArray(manifest.layers)) throw new Error(`${manifestDigest} is not an image manifest`);
    const config = this.readJson<ImageConfigFile>(manifest.config.digest);
    const platform = opts.platform ?? hostPlatform();
    if (!platformMatches(config, platform)) {
      throw new PlatformMismatchError(`image is for platform ${formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) })}, not ${formatPlatform(platform)}`);
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) throw new Error(`image config lists ${diffIds.length} layers but the manifest ${manifest.layers.length}`);
    for (const l of manifest.layers) if (!this.hasBlob(l.digest)) throw new Error(`layer ${l.digest} is missing from the store`);
    const rec: Omit<ImageRecord, 'repoTags' | 'repoDigests' | 'createdAt' | 'lastUsed'> = {
      id: manifest.config.digest,
      manifestDigest,
      layers: manifest.layers,
      diffIds,
      chainIds: chainIds(diffIds),
      size: manifest.config.size + manifest.layers.reduce((a, l) => a + l.size, 0),
      config: config.config ?? {},
      platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
    };
    await this.ensureUnpacked(rec);
    const names = (opts.names ?? []).map((n) => normalizeReference(n));
    return this.update((meta) => {
      const now = Date.now();
      const prev = meta.images[rec.id];
      const img: ImageRecord = { ...rec, repoTags: prev?.repoTags ?? [], repoDigests: prev?.repoDigests ?? [], createdAt: prev?.createdAt ?? now, lastUsed: now };
      for (const name of names) {
        const ref = parseReference(name);
        const digestRef = `${repositoryName(ref)}@${manifestDigest}`;
        if (!img.repoDigests.includes(digestRef)) img.repoDigests.push(digestRef);
        if (!ref.tag) continue;
        const tagged = `${repositoryName(ref)}:${ref.tag}`;
        for (const other of Object.values(meta.images)) {
          if (other.id !== img.id) other.repoTags = other.repoTags.filter((t) => t !== tagged);
        }
        if (!img.repoTags.includes(tagged)) img.repoTags.push(tagged);
      }
      meta.images[img.id] = img;
      return img;
    });
  }

  /** All images, most recently used first. */
  list(): ImageRecord[] {
    return Object.values(this.readMeta().images).sort((a, b) => b.lastUsed - a.lastUsed);
  }

  /**
   * The image a reference names: an id (`sha256:…` or a unique hex prefix of at least 12 characters), a tag, or a
   * `name@digest`. Undefined when absent.
   */
  resolve(ref: string): ImageRecord | undefined {
    const images = Object.values(this.readMeta().images);
    if (isDigest(ref)) return images.find((i) => i.id === ref || i.manifestDigest === ref);
    if (/^[a-f0-9]{12,64}$/.test(ref)) {
      const m = images.filter((i) => digestHex(i.id).startsWith(ref));
      if (m.length === 1) return m[0];
    }
    let norm: string;
    try {
      norm = normalizeReference(ref);
    } catch {
      return undefined;
    }
    const parsed = parseReference(norm);
    if (parsed.digest) {
      const want = `${repositoryName(parsed)}@${parsed.digest}`;
      return images.find((i) => i.repoDigests.includes(want));
    }
    return images.find((i) => i.repoTags.includes(norm));
  }

  /** Marks an image used now (LRU for garbage collection). */
  async touch(id: string): Promise<void> {
    // GC compares lastUsed at minute scale: a write (under the store's lock) per container start is not needed.
    const known = this.resolve(id)?.lastUsed;
    if (known !== undefined && Date.now() - known < touchEveryMs) return;
    await this.update((meta) => {
      const img = meta.images[id];
      if (img) img.lastUsed = Date.now();
    });
  }

  /**
   * Removes a reference: a tag is untagged, and the image goes when it has no tag left; an id removes the image
   * with all its tags. Blobs and layers no other image uses are deleted. Throws ImageNotFoundError.
   */
  async remove(ref: string): Promise<{ untagged: string[]; deleted?: string }> {
    const img = this.resolve(ref);
    if (!img) throw new ImageNotFoundError(`image "${ref}" not found`);
    let byTag: string | undefined;
    if (!isDigest(ref) && !/^[a-f0-9]{12,64}$/.test(ref)) {
      const norm = normalizeReference(ref);
      if (img.repoTags.includes(norm)) byTag = norm;
    }
    const result = await this.update((meta) => {
      const cur = meta.images[img.id];
      if (!cur) return { untagged: [] as string[] };
      if (byTag) {
        cur.repoTags = cur.repoTags.filter((t) => t !== byTag);
        const repo = byTag.slice(0, byTag.lastIndexOf(':'));
        if (!cur.repoTags.some((t) => t.startsWith(`${repo}:`))) cur.repoDigests = cur.repoDigests.filter((d) => !d.startsWith(`${repo}@`));
        if (cur.repoTags.length > 0) return { untagged: [byTag] };
      }
      delete meta.images[cur.id];
      return { untagged: byTag ? [byTag] : cur.repoTags, deleted: cur.id };
    });
    if (result.deleted) this.sweep();
    return result;
  }

  /**
   * Image garbage collection as the kubelet does it: when disk usage of the store's filesystem is at or above the
   * high threshold, removes the least recently used images that no container uses until usage is below the low
   * threshold. Returns the ids removed.
   */
  async gc(opts: GcOptions = {}): Promise<string[]> {
    const high = opts.highThresholdPercent ?? 85;
    const low = opts.lowThresholdPercent ?? 80;
    const usage = opts.diskUsage ?? (() => this.diskUsage());
    const u = usage();
    if (u.totalBytes <= 0 || (u.usedBytes / u.totalBytes) * 100 < high) return [];
    let toFree = u.usedBytes - (u.totalBytes * low) / 100;
    const minAge = opts.minAgeMs ?? 120_000;
    const now = Date.now();
    const removed: string[] = [];
    const candidates = this.list().filter((i) => !opts.inUse?.has(i.id) && now - i.lastUsed >= minAge).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const img of candidates) {
      if (toFree <= 0) break;
      await this.update((meta) => {
        delete meta.images[img.id];
      });
      removed.push(img.id);
      toFree -= img.size;
      log.info('image garbage collected', { image: img.id, tags: img.repoTags });
    }
    if (removed.length > 0) this.sweep();
    return removed;
  }

  /** Bytes used and total of the store's filesystem. */
  diskUsage(): { totalBytes: number; usedBytes: number } {
    const st = fs.statfsSync(this.root);
    return { totalBytes: st.blocks * st.bsize, usedBytes: (st.blocks - st.bfree) * st.bsize };
  }

  /** Deletes blobs and unpacked layers that no image references. */
  sweep(): void {
    const meta = this.readMeta();
    const blobs = new Set<string>();
    const layers = new Set<string>();
    for (const img of Object.values(meta.images)) {
      blobs.add(digestHex(img.manifestDigest));
      blobs.add(digestHex(img.id));
      for (const l of img.layers) blobs.add(digestHex(l.digest));
      for (const c of img.chainIds) layers.add(digestHex(c));
    }
    const inFlight = new Set([...this.unpacking.keys()].map((c) => digestHex(c)));
    const recent = Date.now() - 10 * 60_000;
    for (const n of fs.readdirSync(join(this.root, 'blobs', 'sha256'))) {
      if (blobs.has(n)) continue;
      const p = join(this.root, 'blobs', 'sha256', n);
      // A pull in progress has blobs that no record names yet.
      if (this.pullsInFlight > 0 && fs.statSync(p).mtimeMs > recent) continue;
      fs.rmSync(p, { force: true });
    }
    for (const n of fs.readdirSync(join(this.root, 'layers'))) {
      if (layers.has(n) || inFlight.has(n)) continue;
      fs.rmSync(join(this.root, 'layers', n), { recursive: true, force: true });
    }
  }

  /** Pulls running in this process (their blobs are not swept). */
  pullsInFlight = 0;

  // --- metadata ---

  private metaPath(): string {
    return join(this.root, 'images.json');
  }

  /**
   * The records, parsed again only when the file changed (another process — `skiff images import` — may write
   * it; every write renames a new file into place, so inode, mtime and size tell). Lookups run for every container
   * status, and re-reading the file each time was a visible cost with a hundred pods. Callers must not mutate it.
   */
  private readMeta(): Meta {
    let key: string;
    try {
      const st = fs.statSync(this.metaPath());
      key = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return { version: 1, images: {} };
    }
    if (this.metaCache?.key === key) return this.metaCache.meta;
    const meta = this.parseMeta();
    this.metaCache = { key, meta };
    return meta;
  }

  /** A fresh copy of the records (to change under the lock). */
  private parseMeta(): Meta {
    try {
      const m = JSON.parse(fs.readFileSync(this.metaPath(), 'utf8')) as Meta;
      if (m.version === 1 && m.images) return m;
    } catch {
      // absent or unreadable: empty store
    }
    return { version: 1, images: {} };
  }

  private async update<T>(fn: (meta: Meta) => T): Promise<T> {
    const lock = join(this.root, 'lock');
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        fs.mkdirSync(lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        try {
          // A lock older than 30 s belongs to a process that died holding it.
          if (Date.now() - fs.statSync(lock).mtimeMs > 30_000) fs.rmdirSync(lock);
        } catch {
          // released meanwhile
        }
        if (Date.now() > deadline) throw new Error(`image store ${this.root} is locked`);
        await sleep(10);
      }
    }
    try {
      const meta = this.parseMeta();
      const out = fn(meta);
      const tmp = `${this.metaPath()}.${randomBytes(4).toString('hex')}`;
      fs.writeFileSync(tmp, JSON.stringify(meta, null, 1));
      fs.renameSync(tmp, this.metaPath());
      return out;
    } finally {
      fs.rmdirSync(lock);
    }
  }
}

/** Opens (creating) the store at `root`. */
export function openImageStore(root: string): ImageStore {
  return new ImageStore(root).open();
}
