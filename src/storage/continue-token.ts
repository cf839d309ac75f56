import { StorageError } from './errors.ts';

/** The content of a list continue token: the snapshot revision and the last key returned. */
export interface ContinueToken {
  revision: number;
  /** The last key of the previous page; the next page starts strictly after it. */
  lastKey: string;
}

/** Encodes a continue token as Kubernetes does (opaque base64 JSON). */
export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: t.revision, start: t.lastKey })).toString('base64url');
}

/** Decodes a continue token; throws Invalid for anything malformed. */
export function decodeContinue(token: string): ContinueToken {
  try {
    const o: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      typeof o === 'object' && o !== null &&
      (o as { v?: unknown }).v === 1 &&
      typeof (o as { rv?: unknown }).rv === 'number' &&
      typeof (o as { start?: unknown }).start === 'string'
    ) {
      const r = o as { rv: number; start: string };
      return { revision: r.rv, lastKey: r.start };
    }
  } catch {
    // fall through
  }
  throw new StorageError('Invalid', 'continue key is not valid');
}

/** The smallest key strictly greater than every key with `prefix` (etcd's range end for a prefix). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return '\u{10FFFF}';
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
