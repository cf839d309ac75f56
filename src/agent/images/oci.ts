/**
 * The OCI image-spec and Docker v2 schema 2 documents the store reads (manifests, indexes, image configs), their
 * media types, and platform selection from an index.
 */
import os from 'node:os';

/** Media types of manifests and indexes, OCI and Docker. */
export const mediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** A content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** An OS/architecture pair. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An image manifest (OCI or Docker schema 2). */
export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An image index / manifest list. */
export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The runtime part of an image config. */
export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Volumes?: Record<string, object>;
}

/** An image configuration blob. */
export interface ImageConfigFile {
  architecture: string;
  os: string;
  variant?: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: string; diff_ids: string[] };
  created?: string;
}

/** Whether a media type (or a document without one) is an index. */
export function isIndex(doc: { mediaType?: string; manifests?: unknown }, contentType?: string): boolean {
  const mt = doc.mediaType ?? contentType ?? '';
  if (mt === mediaTypes.ociIndex || mt === mediaTypes.dockerList) return true;
  return mt === '' && Array.isArray(doc.manifests);
}

/** The platform of this machine in OCI terms (linux/amd64 here). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[os.arch()] ?? os.arch() };
}

/** Formats a platform as os/arch[/variant]. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The manifest of an index matching `platform`, or undefined (attestation manifests are never chosen). */
export function selectPlatform(index: ImageIndex, platform: Platform = hostPlatform()): Descriptor | undefined {
  const candidates = index.manifests.filter((m) => m.platform && m.platform.os === platform.os && m.platform.architecture === platform.architecture);
  if (platform.variant) {
    const exact = candidates.find((m) => m.platform?.variant === platform.variant);
    if (exact) return exact;
  }
  return candidates[0];
}

/** Whether an image config is for `platform` (an image without os/arch is accepted). */
export function platformMatches(config: ImageConfigFile, platform: Platform = hostPlatform()): boolean {
  if (!config.os && !config.architecture) return true;
  return config.os === platform.os && config.architecture === platform.architecture;
}
