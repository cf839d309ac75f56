/**
 * Import of image archives into the store: `docker save` tarballs (manifest.json with RepoTags, Config and Layers)
 * and OCI image layouts (oci-layout, index.json, blobs/sha256/…), plain or gzipped. Every blob is verified against
 * its digest as it is stored; layers of a docker archive are stored under the digest of their bytes.
 */
import fs from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { isDigest } from './digest.ts';
import type { Descriptor, ImageConfigFile, ImageIndex, Manifest, Platform } from './oci.ts';
import { hostPlatform, isIndex, mediaTypes, selectPlatform } from './oci.ts';
import { normalizeReference, parseReference } from './reference.ts';
import type { ImageRecord, ImageStore } from './store.ts';
import { readTar } from './tar.ts';

/** Options of importArchive. */
export interface ImportOptions {
  /** Name for an image the archive does not name with a full reference (tag-only or unnamed OCI layouts). */
  name?: string;
  platform?: Platform;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function cleanPath(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

function openArchive(file: string): Readable {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  const src = fs.createReadStream(file);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const g = createGunzip();
    src.on('error', (e) => g.destroy(e));
    return src.pipe(g);
  }
  return src;
}

/** Whether a name is a full reference (has a repository, not only a tag like `latest`). */
function fullName(n: string | undefined): string | undefined {
  if (!n) return undefined;
  if (/^[\w][\w.-]{0,127}$/.test(n) && !n.includes('/') && !n.includes(':')) return undefined;
  try {
    return normalizeReference(n);
  } catch {
    return undefined;
  }
}

/**
 * Imports every image of the archive at `file` into `store` and returns their records. Throws when the archive is
 * neither format, a blob does not match its digest, or an image has no name and `name` is not given.
 */
export async function importArchive(store: ImageStore, file: string, opts: ImportOptions = {}): Promise<ImageRecord[]> {
  const small = new Map<string, Buffer>();
  const stored = new Map<string, string>();
  await readTar(openArchive(file), async (h, body) => {
    if (h.type !== 'file') return;
    const path = cleanPath(h.name);
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
    if (m) {
      const digest = `sha256:${m[1]}`;
      await store.ingest(body.chunks(), { expected: digest, expectedSize: h.size });
      stored.set(path, digest);
      // Manifests and indexes are read back from the store later; configs are small too.
      return;
    }
    if (path.endsWith('.json') || path === 'oci-layout' || path === 'repositories') {
      if (h.size > 16 << 20) return;
      small.set(path, await body.buffer());
      return;
    }
    if (path.endsWith('.tar') || path.endsWith('layer.tar') || path.endsWith('.tar.gz')) {
      stored.set(path, await store.ingest(body.chunks(), { expectedSize: h.size }));
    }
  });
  const platform = opts.platform ?? hostPlatform();
  const results: ImageRecord[] = [];
  const dockerManifest = small.get('manifest.json');
  if (dockerManifest) {
    const entries = JSON.parse(dockerManifest.toString('utf8')) as DockerManifestEntry[];
    for (const e of entries) {
      const cfgBytes = small.get(cleanPath(e.Config)) ?? (stored.has(cleanPath(e.Config)) ? store.readBlob(stored.get(cleanPath(e.Config))!) : undefined);
      if (!cfgBytes) throw new Error(`archive lacks the image config ${e.Config}`);
      const cfgDigest = store.putBlob(cfgBytes);
      const cfg = JSON.parse(cfgBytes.toString('utf8')) as ImageConfigFile;
      const layers: Descriptor[] = e.Layers.map((l) => {
        const digest = stored.get(cleanPath(l));
        if (!digest) throw new Error(`archive lacks the layer ${l}`);
        const size = fs.statSync(store.blobPath(digest)).size;
        const gz = store.readBlobHead(digest, 2);
        return { mediaType: gz[0] === 0x1f && gz[1] === 0x8b ? mediaTypes.ociLayerGzip : mediaTypes.ociLayer, digest, size };
      });
      if ((cfg.rootfs?.diff_ids ?? []).length !== layers.length) throw new Error(`image config ${cfgDigest} lists ${cfg.rootfs?.diff_ids?.length ?? 0} layers, the archive ${layers.length}`);
      const manifest: Manifest = { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { mediaType: mediaTypes.ociConfig, digest: cfgDigest, size: cfgBytes.length }, layers };
      const manifestDigest = store.putBlob(Buffer.from(JSON.stringify(manifest)));
      const names = (e.RepoTags ?? []).map((t) => fullName(t)).filter((t): t is string => t !== undefined);
      if (names.length === 0 && opts.name) names.push(normalizeReference(opts.name));
      if (names.length === 0) throw new Error('the archive names no image: give one with --name');
      results.push(await store.addImage(manifestDigest, { names, platform }));
    }
    return results;
  }
  const indexBytes = small.get('index.json');
  if (!indexBytes || !small.has('oci-layout')) throw new Error('not an image archive: neither manifest.json (docker save) nor oci-layout and index.json (OCI) found');
  const index = JSON.parse(indexBytes.toString('utf8')) as ImageIndex;
  for (const d of index.manifests) {
    const named = fullName(d.annotations?.['io.containerd.image.name']) ?? fullName(d.annotations?.['org.opencontainers.image.ref.name']);
    const manifestDesc = resolveManifest(store, d, platform);
    const names = named ? [named] : opts.name ? [normalizeReference(opts.name)] : [];
    const tagOnly = d.annotations?.['org.opencontainers.image.ref.name'];
    if (!named && opts.name && tagOnly && !fullName(tagOnly)) {
      // `--name repo` plus a tag-only annotation gives repo:tag.
      const ref = parseReference(opts.name);
      if (!opts.name.includes(':') && !opts.name.includes('@')) names[0] = normalizeReference(`${ref.registry}/${ref.repository}:${tagOnly}`);
    }
    if (names.length === 0) throw new Error(`the archive does not name image ${d.digest} with a full reference: give one with --name`);
    results.push(await store.addImage(manifestDesc, { names, platform }));
  }
  if (results.length === 0) throw new Error('the archive holds no image');
  return results;
}

function resolveManifest(store: ImageStore, d: Descriptor, platform: Platform): string {
  if (!isDigest(d.digest) || !store.hasBlob(d.digest)) throw new Error(`archive lacks blob ${d.digest}`);
  const doc = store.readJson<Manifest | ImageIndex>(d.digest);
  if (isIndex(doc as ImageIndex, d.mediaType)) {
    const chosen = selectPlatform(doc as ImageIndex, platform);
    if (!chosen) throw new Error(`no match for platform ${platform.os}/${platform.architecture} in index ${d.digest}`);
    return resolveManifest(store, chosen, platform);
  }
  return d.digest;
}
