/**
 * The admin endpoint that streams a snapshot out of a running server (the SQLite file is owned by the
 * server process, so `skiff snapshot save` asks the server instead of opening the file). Mount it behind
 * authentication and admin-only authorization, e.g. at GET /skiff/v1/snapshot.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { logger } from '../../base/log.ts';
import type { Storage } from '../interface.ts';
import { timestampedName } from './folder.ts';
import { SNAPSHOT_EXTENSION } from './format.ts';
import { openSnapshotStream } from './save.ts';

const log = logger('snapshot-http');

/** The path the lead mounts the handler at. */
export const SNAPSHOT_ENDPOINT = '/skiff/v1/snapshot';
/** Response headers carrying the snapshot's revision and key count. */
export const REVISION_HEADER = 'x-skiff-snapshot-revision';
export const COUNT_HEADER = 'x-skiff-snapshot-count';

function fail(res: ServerResponse, code: number, message: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/**
 * A request handler answering GET with a consistent snapshot of `storage` in the file format (gzip
 * unless `?compress=false`). A failure before the first byte is a 500 Status; a failure mid-stream aborts
 * the connection, leaving the client a file that fails verification rather than a short one that passes.
 */
export function snapshotHandler(storage: Storage, opts: { skiffVersion?: string } = {}): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method !== 'GET') {
      fail(res, 405, `method ${req.method ?? ''} is not allowed on the snapshot endpoint; use GET`, { allow: 'GET' });
      return;
    }
    const compress = new URL(req.url ?? '/', 'http://localhost').searchParams.get('compress') !== 'false';
    let stream;
    try {
      stream = await openSnapshotStream(storage, { compress, ...(opts.skiffVersion === undefined ? {} : { skiffVersion: opts.skiffVersion }) });
    } catch (e) {
      log.warn('snapshot request failed', { err: e });
      fail(res, 500, `snapshot failed: ${(e as Error).message}`);
      return;
    }
    const name = timestampedName('snapshot-', new Date(stream.header.createdAt)) + SNAPSHOT_EXTENSION;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${name}"`,
      [REVISION_HEADER]: String(stream.header.revision),
      [COUNT_HEADER]: String(stream.header.count),
    });
    const started = Date.now();
    try {
      await pipeline(stream.body, res);
      log.v(1).info('snapshot streamed', { revision: stream.header.revision, keys: stream.header.count, ms: Date.now() - started });
    } catch (e) {
      log.warn('snapshot stream aborted', { revision: stream.header.revision, err: e });
      res.destroy();
    }
  };
}
