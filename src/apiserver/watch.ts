/**
 * Serving a watch from the watch cache: synthetic ADDED events for "0"/unset, resume from a resourceVersion,
 * selector transitions as ADDED/DELETED, bookmarks, 410 Expired as an ERROR event, timeoutSeconds, Table
 * watches, and dropping watchers that cannot keep up.
 */
import type { RequestContext } from './request.ts';
import type { Store, ListParams } from './registry/store.ts';
import type { CacheEvent, CacheListener, CachedObject } from './watch-cache.ts';
import { encodedEvent } from './watch-cache.ts';
import { badRequest, timeoutError, ApiError } from './errors.ts';
import { columnDefinitions, tableRow } from './table.ts';
import type { IncludeObject } from './table.ts';

/** Options of one watch. */
export interface WatchRequest {
  namespace: string;
  params: ListParams;
  allowBookmarks: boolean;
  sendInitialEvents: boolean | undefined;
  timeoutSeconds: number | undefined;
  table: { version: 'v1' | 'v1beta1'; include: IncludeObject } | undefined;
  register: (close: () => void) => () => void;
}

/** Bytes buffered for one watcher beyond which it is dropped (it re-watches from its last resourceVersion). */
const MAX_BUFFERED = 32 * 1024 * 1024;
/** Minimum interval between bookmarks to one watcher. */
const BOOKMARK_INTERVAL_MS = 1000;

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Serves one watch request until the client leaves, the timeout passes or the server stops. */
export async function serveWatch(ctx: RequestContext, store: Store, w: WatchRequest): Promise<void> {
  const { res } = ctx;
  const cache = store.cache;
  await cache.ready;
  const rvParam = w.params.resourceVersion ?? '';
  let fromRv = 0;
  if (rvParam !== '' && rvParam !== '0') {
    fromRv = Number(rvParam);
    if (!Number.isInteger(fromRv) || fromRv < 0) throw badRequest(`invalid resource version: "${rvParam}"`);
  }
  const initial = rvParam === '' || rvParam === '0' ? w.sendInitialEvents !== false : w.sendInitialEvents === true;
  if (rvParam === '' && w.sendInitialEvents !== true) {
    // Unset means "most recent": catch up with storage first.
    const current = await store.currentRevision();
    if (current > 0) await cache.waitUntilFresh(current, { timeoutMs: 3000 });
  }
  if (fromRv > cache.resourceVersion) {
    if (!(await cache.waitUntilFresh(fromRv, { timeoutMs: 3000 }))) {
      throw timeoutError(`Too large resource version: ${fromRv}, current: ${cache.resourceVersion}`);
    }
  }

  const filter = store.predicate(w.params);
  const ns = store.def.namespaced ? w.namespace : '';
  const matches = (o: CachedObject): boolean => (ns === '' || o.namespace === ns) && (!filter || filter(o));
  const apiVersionTable = w.table ? `meta.k8s.io/${w.table.version}` : '';
  let sentHeaders = false;
  let lastRv = fromRv;
  let lastBookmark = Date.now();
  let closed = false;

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  const encodeTable = (type: EventType, o: CachedObject): string => {
    const t = {
      kind: 'Table', apiVersion: apiVersionTable, metadata: { resourceVersion: String(o.rv) },
      columnDefinitions: sentHeaders ? null : columnDefinitions(store.def),
      rows: [tableRow(store.def, o.obj, { now: Date.now(), include: w.table!.include, apiVersion: apiVersionTable })],
    };
    sentHeaders = true;
    return `{"type":"${type}","object":${JSON.stringify(t)}}\n`;
  };

  // Events arrive in bursts (one storage commit carries many writes): everything written to this watcher in one
  // tick goes out as one socket write (one TLS record, one syscall) instead of one per event.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    res.uncork();
  };
  const write = (chunk: string | Buffer): boolean => {
    if (closed) return false;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    res.write(chunk);
    return res.writableLength <= MAX_BUFFERED;
  };

  const send = (ev: CacheEvent | null, type: EventType, o: CachedObject): boolean => {
    lastRv = o.rv;
    if (w.table) return write(encodeTable(type, o));
    if (ev) return write(encodedEvent(ev, type, o));
    return write(`{"type":"${type}","object":${o.json}}\n`);
  };

  const bookmark = (rv: number, annotations?: Record<string, string>): void => {
    if (!w.allowBookmarks) return;
    const meta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (annotations) meta.annotations = annotations;
    const obj = w.table
      ? { kind: 'Table', apiVersion: apiVersionTable, metadata: meta, columnDefinitions: null, rows: [] }
      : { kind: store.def.kind, apiVersion: store.apiVersion, metadata: meta };
    write(`{"type":"BOOKMARK","object":${JSON.stringify(obj)}}\n`);
    lastBookmark = Date.now();
    lastRv = rv;
  };

  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const close = (): void => {
    if (closed) return;
    closed = true;
    res.end();
    finish();
  };

  const listener: CacheListener = {
    onEvent(ev) {
      if (ev.rv <= lastRv && ev.rv <= fromRv) return true;
      const curMatch = matches(ev.cur);
      if (ev.type === 'ADDED') return curMatch ? send(ev, 'ADDED', ev.cur) : true;
      if (ev.type === 'DELETED') return curMatch ? send(ev, 'DELETED', ev.cur) : true;
      const prevMatch = ev.prev ? matches(ev.prev) : false;
      if (curMatch && prevMatch) return send(ev, 'MODIFIED', ev.cur);
      if (curMatch) return send(ev, 'ADDED', ev.cur);
      if (prevMatch && ev.prev) {
        // The object stopped matching: the watcher sees it deleted, at the event's revision.
        return send(ev, 'DELETED', ev.prev);
      }
      return true;
    },
    onProgress(rv) {
      if (rv > lastRv && Date.now() - lastBookmark >= BOOKMARK_INTERVAL_MS) bookmark(rv);
    },
    onReset() {
      close();
    },
  };

  let sub: { unsubscribe: () => void } | { tooOld: number };
  if (initial) {
    const startRv = cache.resourceVersion;
    lastRv = startRv;
    fromRv = startRv;
    for (const o of cache.list(filter, ns || undefined)) {
      if (w.table) write(encodeTable('ADDED', o));
      else write(`{"type":"ADDED","object":${o.json}}\n`);
    }
    lastRv = startRv;
    if (w.sendInitialEvents === true) bookmark(startRv, { 'k8s.io/initial-events-end': 'true' });
    sub = cache.subscribe(listener, startRv);
  } else {
    sub = cache.subscribe(listener, fromRv);
  }
  if ('tooOld' in sub) {
    const status = new ApiError({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410,
      message: `too old resource version: ${fromRv} (${sub.tooOld})`,
    }).status;
    write(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
    close();
    return;
  }
  const unregister = w.register(close);
  const timeoutMs = w.timeoutSeconds !== undefined && w.timeoutSeconds > 0
    ? w.timeoutSeconds * 1000
    : (1800 + Math.random() * 1800) * 1000;
  const timer = setTimeout(close, timeoutMs);
  res.on('close', close);
  res.on('error', close);
  await done;
  clearTimeout(timer);
  sub.unsubscribe();
  unregister();
}
