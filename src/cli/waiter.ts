/**
 * kubectl wait's machinery, shared by `wait`, `delete --wait` and `rollout status`: read the object, and until
 * the condition holds, watch it (field selector on its name, from the read's resourceVersion) and re-check on
 * every event, with a deadline. The watch is restarted from a fresh read if the server ends it.
 */
import type { CliContext } from './context.ts';
import { isNotFound } from '../client/index.ts';
import type { Info } from './ops.ts';
import { infoPath } from './ops.ts';
import type { Obj } from './printers/objects.ts';
import { resourcePath } from './resource-args.ts';

/** The verdict of a condition on the current object (undefined when it no longer exists). */
export type Check = (obj: Obj | undefined) => { done: boolean; error?: Error };

/** Waits until `check` is done for one object; resolves to false on timeout. `timeoutMs` < 0 means no deadline. */
export async function waitForObject(ctx: CliContext, info: Info, check: Check, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
  const deadline = opts.timeoutMs < 0 ? Infinity : Date.now() + opts.timeoutMs;
  for (;;) {
    let obj: Obj | undefined;
    try {
      obj = (await ctx.rest().request<Obj>({ path: infoPath(info) })).body;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      obj = undefined;
    }
    let verdict = check(obj);
    if (verdict.error) throw verdict.error;
    if (verdict.done) return true;
    if (Date.now() >= deadline) return false;
    const rv = obj?.metadata?.['resourceVersion'] as string | undefined;
    const controller = new AbortController();
    const remaining = deadline - Date.now();
    const timer = Number.isFinite(remaining) ? setTimeout(() => controller.abort(), Math.max(0, remaining)) : undefined;
    const onAbort = (): void => controller.abort();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      const stream = await ctx.rest().stream({
        path: resourcePath(info.resource, { namespace: info.namespace || undefined }),
        query: { watch: true, fieldSelector: `metadata.name=${info.name}`, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: Number.isFinite(remaining) ? Math.max(1, Math.ceil(remaining / 1000)) : undefined },
        signal: controller.signal,
      });
      for await (const line of stream.lines()) {
        if (line.trim() === '') continue;
        const ev = JSON.parse(line) as { type: string; object: Obj };
        if (ev.type === 'BOOKMARK') continue;
        if (ev.type === 'ERROR') break;
        verdict = check(ev.type === 'DELETED' ? undefined : ev.object);
        if (verdict.error) throw verdict.error;
        if (verdict.done) {
          stream.close();
          return true;
        }
      }
    } catch (e) {
      if (!controller.signal.aborted) throw e;
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (opts.signal?.aborted) return false;
    if (Date.now() >= deadline) return false;
  }
}

/** Done when the object is gone, or replaced by one with another UID. */
export function deletedCheck(uid: string | undefined): Check {
  return (obj) => ({ done: obj === undefined || (uid !== undefined && obj.metadata?.['uid'] !== uid) });
}
