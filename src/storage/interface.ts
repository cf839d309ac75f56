/**
 * The storage interface: a revisioned key-value store with etcd v3 semantics.
 * Keys are strings (Kubernetes storage paths such as /registry/pods/default/web); values are opaque bytes.
 * Every write advances one global revision; every key carries createRevision and modRevision
 * (Kubernetes' resourceVersion is the modRevision). See docs/storage.md.
 */

/** One stored key at one revision. */
export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the write that created this key (since it last did not exist). */
  createRevision: number;
  /** Revision of the last write to this key. */
  modRevision: number;
}

/** Options for a read at a point in time. */
export interface ReadOptions {
  /** Read the state as of this revision (0 or unset: the latest). Fails with Compacted below the compacted revision. */
  revision?: number;
}

/** Options for a prefix list. */
export interface ListOptions extends ReadOptions {
  /** At most this many keys per page (0 or unset: all). */
  limit?: number;
  /** The token from the previous page; carries the snapshot revision and the last key, so all pages read one snapshot. */
  continue?: string;
  /**
   * false: the caller does not need `remaining` (an engine may then skip counting, which at a past revision costs a
   * scan of every later key). Default true.
   */
  countRemaining?: boolean;
}

/** One page of a prefix list. */
export interface ListResult {
  kvs: KeyValue[];
  /** The snapshot revision the page was read at. */
  revision: number;
  /** Set when more keys follow: pass it back as `continue`. */
  continue?: string;
  /** When `continue` is set (and countRemaining was not false): how many keys follow this page in the snapshot. */
  remaining?: number;
}

/** Options for a write. */
export interface WriteOptions {
  /** Expire the key after this many seconds (a lease; the key is deleted, producing a delete event). */
  ttlSeconds?: number;
}

/** Options for an update. */
export interface UpdateOptions extends WriteOptions {
  /** The update applies only if the key's modRevision still equals this (compare-and-swap). */
  expectedModRevision: number;
}

/** Options for a delete. */
export interface DeleteOptions {
  /** When set, the delete applies only if the key's modRevision still equals this. */
  expectedModRevision?: number;
}

/** A change seen by a watch. */
export type WatchEvent =
  | { type: 'put'; kv: KeyValue; prevKv: KeyValue | null; revision: number }
  | { type: 'delete'; key: string; prevKv: KeyValue; revision: number }
  /** Sent while idle: every change up to `revision` has been delivered (watch bookmarks). */
  | { type: 'progress'; revision: number };

/** Options for a watch. */
export interface WatchOptions {
  /** Deliver every change with a revision strictly greater than this. */
  fromRevision: number;
  /** Ends the watch; the iterator then finishes without error. */
  signal?: AbortSignal;
  /** How often to send a progress event while idle (ms); default 5000, 0 disables. */
  progressIntervalMs?: number;
}

/**
 * A revisioned store. Every method is atomic. Errors are StorageError with codes:
 * KeyExists (create), NotFound (update/delete of a missing key), Conflict (stale expectedModRevision;
 * `current` holds the stored object), Compacted (read or watch below the compacted revision),
 * TooLarge (value over 1.5 MiB), WatchOverflow (a watcher fell too far behind), Closed.
 */
export interface Storage {
  /** A short engine name for logs and metrics ("sqlite", "etcd"). */
  readonly engine: string;
  /** Reads one key; `kv` is null when absent. `revision` is the revision the read was served at. */
  get(key: string, opts?: ReadOptions): Promise<{ kv: KeyValue | null; revision: number }>;
  /** Lists keys with the prefix in key order, paged on one snapshot. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Counts keys with the prefix at the latest revision. */
  count(prefix: string): Promise<{ count: number; revision: number }>;
  /** Creates a key that must not exist; fails with KeyExists. */
  create(key: string, value: Uint8Array, opts?: WriteOptions): Promise<KeyValue>;
  /** Replaces a key's value if its modRevision matches; fails with NotFound or Conflict. */
  update(key: string, value: Uint8Array, opts: UpdateOptions): Promise<KeyValue>;
  /** Deletes a key; returns the deleted value and the revision of the delete. */
  delete(key: string, opts?: DeleteOptions): Promise<{ prevKv: KeyValue; revision: number }>;
  /**
   * Streams every change to keys with the prefix after `fromRevision`, in revision order, without gaps
   * or duplicates. Throws Compacted at once when `fromRevision` is below the compacted window, and
   * WatchOverflow when the consumer falls too far behind.
   */
  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchEvent>;
  /**
   * Asks every open watch for a progress event as soon as it has delivered every change up to the store's
   * current revision (etcd's WatchProgressRequest), so that a consistent read from a watch cache of an idle
   * prefix need not wait for the periodic one. Optional: engines without it leave reads to the interval.
   */
  requestProgress?(): void;
  /** The latest revision of the store. */
  currentRevision(): Promise<number>;
  /** The revision below which history has been compacted away (0 when none). */
  compactedRevision(): Promise<number>;
  /** Discards history older than `revision` (the latest value of every live key is kept). */
  compact(revision: number): Promise<void>;
  /** Resolves when the store is reachable and writable. */
  health(): Promise<void>;
  /** Waits for in-flight writes, ends watches and releases the store. */
  close(): Promise<void>;
}
