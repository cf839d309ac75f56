/**
 * Builds small single-layer OCI images from file lists, without a network or a container engine: the registry test
 * helper, unit tests and benchmarks make their busybox images with it.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { sha256Digest } from './digest.ts';
import type { ImageConfigFile, ImageRuntimeConfig, Manifest } from './oci.ts';
import { hostPlatform, mediaTypes } from './oci.ts';
import type { TarWriteEntry } from './tar.ts';
import { writeTar } from './tar.ts';

/** A built image: every blob by digest, plus the manifest's digest. */
export interface BuiltImage {
  manifestDigest: string;
  manifest: Buffer;
  configDigest: string;
  config: Buffer;
  /** Compressed layer blobs, bottom first. */
  layers: { digest: string; data: Buffer; diffId: string }[];
  /** Every blob (manifest, config, layers) by digest. */
  blobs: Map<string, Buffer>;
}

/** Options of buildImage. */
export interface BuildImageOptions {
  config?: ImageRuntimeConfig;
  os?: string;
  architecture?: string;
  /** Compress layers with gzip (default true). */
  gzip?: boolean;
}

/** Builds an image with one layer per entry list (bottom first). */
export function buildImage(layerFiles: TarWriteEntry[][], opts: BuildImageOptions = {}): BuiltImage {
  const blobs = new Map<string, Buffer>();
  const layers = layerFiles.map((files) => {
    const tar = writeTar(files);
    const data = opts.gzip === false ? tar : gzipSync(tar);
    const digest = sha256Digest(data);
    blobs.set(digest, data);
    return { digest, data, diffId: sha256Digest(tar) };
  });
  const platform = hostPlatform();
  const cfg: ImageConfigFile = {
    architecture: opts.architecture ?? platform.architecture,
    os: opts.os ?? platform.os,
    config: opts.config ?? {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    created: new Date(0).toISOString(),
  };
  const config = Buffer.from(JSON.stringify(cfg));
  const configDigest = sha256Digest(config);
  blobs.set(configDigest, config);
  const m: Manifest = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: opts.gzip === false ? mediaTypes.ociLayer : mediaTypes.ociLayerGzip, digest: l.digest, size: l.data.length })),
  };
  const manifest = Buffer.from(JSON.stringify(m));
  const manifestDigest = sha256Digest(manifest);
  blobs.set(manifestDigest, manifest);
  return { manifestDigest, manifest, configDigest, config, layers, blobs };
}

/** An OCI-archive tarball of `img` (oci-layout, index.json, blobs), naming it `refName` when given. */
export function ociArchive(img: BuiltImage, refName?: string): Buffer {
  const index = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: [{
      mediaType: mediaTypes.ociManifest, digest: img.manifestDigest, size: img.manifest.length,
      ...(refName ? { annotations: { 'org.opencontainers.image.ref.name': refName } } : {}),
    }],
  };
  const entries: TarWriteEntry[] = [
    { name: 'oci-layout', data: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', data: JSON.stringify(index) },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
  ];
  for (const [d, data] of img.blobs) entries.push({ name: `blobs/sha256/${d.slice(7)}`, data });
  return writeTar(entries);
}

/** A `docker save` tarball of `img` (uncompressed layers under <id>/layer.tar) tagged with `repoTags`. */
export function dockerArchive(img: BuiltImage, repoTags: string[]): Buffer {
  const entries: TarWriteEntry[] = [];
  const layerPaths: string[] = [];
  for (const l of img.layers) {
    const hex = l.diffId.slice(7);
    const tar = l.data[0] === 0x1f && l.data[1] === 0x8b ? gunzip(l.data) : l.data;
    entries.push({ name: `${hex}/`, type: 'directory' }, { name: `${hex}/layer.tar`, data: tar });
    layerPaths.push(`${hex}/layer.tar`);
  }
  const cfgName = `${img.configDigest.slice(7)}.json`;
  entries.push({ name: cfgName, data: img.config });
  entries.push({ name: 'manifest.json', data: JSON.stringify([{ Config: cfgName, RepoTags: repoTags, Layers: layerPaths }]) });
  return writeTar(entries);
}

function gunzip(b: Buffer): Buffer {
  return gunzipSync(b);
}

