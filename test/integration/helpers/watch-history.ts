/**
 * Every version of one object as a watch delivers it, for tests that must see short-lived states (a 1 s back-off,
 * a transient condition): polling through kubectl samples once per process start, which on a loaded machine is
 * slower than the state lasts; a watch sees every write.
 */
import type { ResourceClient } from '../../../src/client/index.ts';
import { codeOf } from '../../../src/client/index.ts';

/** The versions recorded so far (oldest first) and a way to stop recording. */
export interface WatchHistory<T> {
  readonly versions: readonly T[];
  /** Stops the watch; the versions stay readable. */
  stop(): Promise<void>;
}

interface Versioned {
  metadata?: { resourceVersion?: string };
}

/**
 * Starts recording the object `name` (it may not exist yet): resolves once the watch is anchored at the current
 * resourceVersion, so that every later write is recorded; a dropped watch resumes from the last version seen.
 */
export async function watchHistory<T extends Versioned>(client: ResourceClient<T>, name: string, opts: { namespace?: string } = {}): Promise<WatchHistory<T>> {
  const versions: T[] = [];
  const ctl = new AbortController();
  const fieldSelector = `metadata.name=${name}`;
  const list = async (): Promise<string | undefined> => {
    const l = await client.list({ namespace: opts.namespace, fieldSelector });
    for (const o of l.items) versions.push(o);
    return l.metadata?.resourceVersion;
  };
  let rv = await list();
  const loop = (async () => {
    while (!ctl.signal.aborted) {
      try {
        for await (const ev of client.watch({ namespace: opts.namespace, fieldSelector, resourceVersion: rv, allowWatchBookmarks: true, signal: ctl.signal })) {
          if (ev.type === 'ERROR') throw Object.assign(new Error(ev.object.message ?? 'watch error'), { code: ev.object.code });
          rv = ev.object.metadata?.resourceVersion ?? rv;
          if (ev.type !== 'BOOKMARK') versions.push(ev.object);
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
        // Too old to resume: start over from a fresh list (what changed meanwhile is its latest version).
        if (codeOf(e) === 410 || (e as { code?: unknown }).code === 410) rv = await list().catch(() => rv);
        else await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  return {
    versions,
    async stop() {
      ctl.abort();
      await loop;
    },
  };
}
