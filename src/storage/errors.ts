import type { KeyValue } from './interface.ts';

/** The storage layer's error vocabulary; the API server's registry translates these to Status objects. */
export type StorageErrorCode =
  | 'KeyExists'
  | 'NotFound'
  | 'Conflict'
  | 'Compacted'
  | 'TooLarge'
  | 'WatchOverflow'
  | 'Unavailable'
  | 'Invalid'
  | 'Corrupt'
  | 'Locked'
  | 'Closed';

/** An error raised by a storage engine. `current` carries the stored object on a Conflict. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly key: string | undefined;
  /** On Conflict: the object as currently stored (null when it was deleted), so callers can retry without a read. */
  readonly current: KeyValue | null | undefined;
  /** On Compacted: the oldest revision still available. */
  readonly compactRevision: number | undefined;
  constructor(
    code: StorageErrorCode,
    message: string,
    extra: { key?: string; current?: KeyValue | null; compactRevision?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.key = extra.key;
    this.current = extra.current;
    this.compactRevision = extra.compactRevision;
  }
}

/** True when `e` is a StorageError with the given code. */
export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

/** The largest value either engine accepts: etcd's default request limit. */
export const MAX_VALUE_BYTES = 1.5 * 1024 * 1024;

/** Throws TooLarge when `value` exceeds MAX_VALUE_BYTES. */
export function checkValueSize(key: string, value: Uint8Array): void {
  if (value.byteLength > MAX_VALUE_BYTES) {
    throw new StorageError(
      'TooLarge',
      `value for key ${JSON.stringify(key)} is ${value.byteLength} bytes, over the limit of ${MAX_VALUE_BYTES} bytes`,
      { key },
    );
  }
}
