/**
 * Encoding between the wire, the API machinery and storage. Objects are stored as JSON without
 * metadata.resourceVersion (the storage modRevision is the resourceVersion, set on the way out).
 */
import { parseDocument } from 'yaml';
import type { KubeObject, StoredObject } from '../api/meta/types.ts';
import { badRequest, unsupportedMediaType } from './errors.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Decodes stored bytes and sets metadata.resourceVersion to `rv`. */
export function decodeStored(value: Uint8Array, rv: number): StoredObject {
  const obj = JSON.parse(dec.decode(value)) as StoredObject;
  obj.metadata ??= {};
  obj.metadata.resourceVersion = String(rv);
  return obj;
}

/**
 * The same object with apiVersion, kind and metadata as its first keys (the others keep their order), so that its
 * stored JSON starts with a known prefix and the resourceVersion can be spliced in without a re-encode.
 */
export function canonicalKeyOrder<T extends StoredObject>(obj: T): T {
  const keys = Object.keys(obj);
  if (keys[0] === 'apiVersion' && keys[1] === 'kind' && keys[2] === 'metadata') return obj;
  const { apiVersion, kind, metadata, ...rest } = obj;
  return { apiVersion, kind, metadata, ...rest } as T;
}

const canonicalPrefix = /^\{"apiVersion":"[^"\\]*","kind":"[^"\\]*","metadata":\{(?=")/;

/**
 * The JSON of a stored object with metadata.resourceVersion set, built from its stored JSON text by splicing when
 * that text starts with the canonical prefix (see canonicalKeyOrder); null when it does not (decode and re-encode).
 */
export function spliceResourceVersion(storedJson: string, rv: number): string | null {
  const m = canonicalPrefix.exec(storedJson);
  if (!m) return null;
  const at = m[0].length;
  return `${storedJson.slice(0, at)}"resourceVersion":"${rv}",${storedJson.slice(at)}`;
}

/** Stored JSON text of bytes (for spliceResourceVersion). */
export function storedText(value: Uint8Array): string {
  return dec.decode(value);
}

const knownJson = new WeakMap<object, string>();

/** Records the JSON encoding of an object that will not change any more (the write path's answer). */
export function rememberJson(obj: object, json: string): void {
  knownJson.set(obj, json);
}

/** The JSON of `obj`: the remembered encoding, else a fresh one. */
export function jsonOf(obj: object): string {
  return knownJson.get(obj) ?? JSON.stringify(obj);
}

/** Encodes an object for storage (without resourceVersion). */
export function encodeForStorage(obj: StoredObject): Uint8Array {
  return enc.encode(storedJsonText(obj));
}

/** The JSON text that encodeForStorage stores (without resourceVersion). */
export function storedJsonText(obj: StoredObject): string {
  const rv = obj.metadata.resourceVersion;
  if (rv === undefined) return JSON.stringify(obj);
  delete obj.metadata.resourceVersion;
  try {
    return JSON.stringify(obj);
  } finally {
    obj.metadata.resourceVersion = rv;
  }
}

/** UTF-8 bytes of stored JSON text. */
export function storedBytes(text: string): Uint8Array {
  return enc.encode(text);
}

/** The media type of a Content-Type header, lower-cased, without parameters ("" when absent). */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** Body media types the API accepts for ordinary writes. */
export type BodyFormat = 'json' | 'yaml' | 'protobuf';

/** Maps a request Content-Type to a body format; a missing Content-Type means JSON (kubectl scale sends none). */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const mt = mediaType(contentType);
  switch (mt) {
    case '':
    case 'application/json':
      return 'json';
    case 'application/yaml':
    case 'application/x-yaml':
    case 'text/yaml':
      return 'yaml';
    case 'application/vnd.kubernetes.protobuf':
      return 'protobuf';
    default:
      throw unsupportedMediaType(contentType ?? '');
  }
}

/** Parses JSON text into an object, with a 400 naming the problem on failure. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`error decoding JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Parses one YAML document, with a 400 naming the problem (and line) on failure. */
export function parseYamlBody(text: string): unknown {
  // JSON is YAML, and what clients send as apply-patch+yaml is mostly JSON text (kubectl apply --server-side): the
  // JSON parser reads it some fifty times faster; anything it refuses goes to the YAML parser.
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // not JSON: YAML below
    }
  }
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw badRequest(`error converting YAML to JSON: yaml: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/** Requires the decoded body to be a JSON object. */
export function requireObject(v: unknown): KubeObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badRequest(`the request body must be a JSON object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`);
  }
  return v as KubeObject;
}

/** What the client asked the response to be. */
export type ResponseFormat = { kind: 'json' } | { kind: 'yaml' } | { kind: 'table'; version: 'v1' | 'v1beta1' };

/**
 * Content negotiation on Accept (upstream negotiation.NegotiateOutputMediaType): the first acceptable entry
 * wins; Table only for list/get requests; protobuf is answered with JSON when JSON is also acceptable.
 * Returns null when nothing offered can be produced (406).
 */
export function negotiate(accept: string | undefined, opts: { allowTable: boolean }): ResponseFormat | null {
  if (!accept || accept.trim() === '') return { kind: 'json' };
  const entries = accept.split(',').map((s) => s.trim()).filter(Boolean);
  let protobufOnly = false;
  for (const entry of entries) {
    const parts = entry.split(';').map((p) => p.trim());
    const mt = (parts[0] ?? '').toLowerCase();
    const params: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
    }
    if (mt === 'application/json' || mt === 'application/*' || mt === '*/*') {
      if (params.as === 'Table') {
        if (!opts.allowTable) continue;
        if (params.g === 'meta.k8s.io' && (params.v === 'v1' || params.v === 'v1beta1')) {
          return { kind: 'table', version: params.v };
        }
        continue;
      }
      if (params.as !== undefined) continue; // PartialObjectMetadata etc. are not served yet
      return { kind: 'json' };
    }
    if (mt === 'application/yaml') return { kind: 'yaml' };
    if (mt === 'application/vnd.kubernetes.protobuf') {
      protobufOnly = true;
      continue;
    }
  }
  // Clients that only speak protobuf still get JSON for now: client-go decodes by response Content-Type.
  if (protobufOnly) return { kind: 'json' };
  return null;
}
