/**
 * The image store's public surface: the content-addressed store, registry pulls, archive import, references and
 * pull-secret credentials.
 */
export { importArchive } from './archive.ts';
export type { ImportOptions } from './archive.ts';
export { credentialsFor, parseDockerConfig } from './credentials.ts';
export type { DockerConfig, RegistryCredential } from './credentials.ts';
export { DigestMismatchError } from './digest.ts';
export { formatReference, normalizeReference, parseReference } from './reference.ts';
export type { ImageReference } from './reference.ts';
export { pullImage, PullError } from './registry.ts';
export type { PullFailure, PullOptions } from './registry.ts';
export { ImageNotFoundError, ImageStore, imageStoreDir, openImageStore, PlatformMismatchError } from './store.ts';
export type { GcOptions, ImageRecord } from './store.ts';
