/**
 * Path parsing for the resource API (upstream's request info resolver):
 * /api/v1/..., /apis/{group}/{version}/... into group, version, namespace, resource, name, subresource.
 */

/** A parsed resource request path. */
export interface ResourcePath {
  group: string;
  version: string;
  /** The namespace from the path ("" when none). */
  namespace: string;
  /** The resource (plural), e.g. "pods". */
  resource: string;
  /** The object name ("" for collections). */
  name: string;
  /** The subresource ("" when none), e.g. "status". */
  subresource: string;
  /** The deprecated /watch/ path prefix was used. */
  legacyWatch: boolean;
}

/** Other paths the API server answers. */
export type ParsedPath =
  | { type: 'resource'; path: ResourcePath }
  | { type: 'discovery-root'; which: 'api' | 'apis' }
  | { type: 'discovery-group'; group: string }
  | { type: 'discovery-version'; group: string; version: string }
  | { type: 'other' };

/** Splits and decodes a URL path into segments. */
function segmentsOf(pathname: string): string[] {
  const parts = pathname.split('/').filter((s) => s !== '');
  // Every request is routed (and authorized) by path: skip the decoding when there is nothing to decode.
  if (!pathname.includes('%')) return parts;
  return parts.map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

/** Parses a request path. */
export function parsePath(pathname: string): ParsedPath {
  const seg = segmentsOf(pathname);
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return { type: 'discovery-root', which: 'api' };
    group = '';
    version = seg[1]!;
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return { type: 'discovery-root', which: 'apis' };
    if (seg.length === 2) return { type: 'discovery-group', group: seg[1]! };
    group = seg[1]!;
    version = seg[2]!;
    rest = seg.slice(3);
  } else {
    return { type: 'other' };
  }
  if (rest.length === 0) return { type: 'discovery-version', group, version };
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
    if (rest.length === 0) return { type: 'other' };
  }
  const p: ResourcePath = { group, version, namespace: '', resource: '', name: '', subresource: '', legacyWatch };
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    p.namespace = rest[1]!;
    rest = rest.slice(2);
  }
  if (rest.length > 3) return { type: 'other' };
  p.resource = rest[0]!;
  p.name = rest[1] ?? '';
  p.subresource = rest[2] ?? '';
  // /api/v1/namespaces/{name}: the namespace object itself (name doubles as namespace for authorization).
  return { type: 'resource', path: p };
}
