/**
 * The audit log (upstream audit.k8s.io/v1): one JSON line per request at the level its policy rule sets
 * (None, Metadata, Request, RequestResponse), written when the response completes, with size-based rotation.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { Attributes, UserInfo } from './user.ts';
import { logger } from '../../base/log.ts';

const log = logger('audit');

/** An audit level. */
export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';

const LEVELS: AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];

/** One rule of an audit Policy (the fields Skiff evaluates). */
export interface AuditPolicyRule {
  level: AuditLevel;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: { group?: string; resources?: string[]; resourceNames?: string[] }[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: string[];
}

/** An audit Policy (audit.k8s.io/v1). */
export interface AuditPolicy {
  rules: AuditPolicyRule[];
  omitStages?: string[];
}

/** Parses an audit policy file (YAML or JSON); throws with the problem on a malformed policy. */
export function parseAuditPolicy(text: string): AuditPolicy {
  const doc = parseYaml(text) as { kind?: string; rules?: unknown; omitStages?: string[] } | null;
  if (!doc || doc.kind !== 'Policy') throw new Error('audit policy: kind must be Policy');
  if (!Array.isArray(doc.rules) || doc.rules.length === 0) throw new Error('audit policy: at least one rule is required');
  const rules = doc.rules as AuditPolicyRule[];
  rules.forEach((r, i) => {
    if (!LEVELS.includes(r.level)) throw new Error(`audit policy: rules[${i}].level: Unsupported value: ${JSON.stringify(r.level)}: supported values: "None", "Metadata", "Request", "RequestResponse"`);
  });
  return { rules, ...(doc.omitStages ? { omitStages: doc.omitStages } : {}) };
}

function urlMatch(patterns: string[], path: string): boolean {
  return patterns.some((p) => p === path || p === '*' || (p.endsWith('*') && path.startsWith(p.slice(0, -1))));
}

/** The level of the first matching rule (None when no rule matches). */
export function auditLevelFor(policy: AuditPolicy, a: Attributes): AuditLevel {
  for (const r of policy.rules) {
    if (r.users && !r.users.includes(a.user.name)) continue;
    if (r.userGroups && !r.userGroups.some((g) => a.user.groups.includes(g))) continue;
    if (r.verbs && !r.verbs.includes(a.verb)) continue;
    if (r.nonResourceURLs) {
      if (a.resourceRequest || !urlMatch(r.nonResourceURLs, a.path)) continue;
    }
    if (r.namespaces && !(a.resourceRequest && r.namespaces.includes(a.namespace))) continue;
    if (r.resources) {
      if (!a.resourceRequest) continue;
      const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
      const ok = r.resources.some((g) => (g.group ?? '') === a.apiGroup
        && (!g.resources || g.resources.length === 0 || g.resources.includes(res) || g.resources.includes(a.resource) || g.resources.includes('*') || g.resources.includes(`*/${a.subresource}`))
        && (!g.resourceNames || g.resourceNames.length === 0 || g.resourceNames.includes(a.name)));
      if (!ok) continue;
    }
    return r.level;
  }
  return 'None';
}

/** Options of the audit log. */
export interface AuditLogOptions {
  path: string;
  policy: AuditPolicy;
  /** Rotate when the file passes this size (default 100 MiB, as --audit-log-maxsize 100). */
  maxBytes?: number;
  /** Rotated files kept (default 5). */
  maxBackups?: number;
}

const requestBodies = new WeakMap<IncomingMessage, Buffer[]>();

/**
 * Audit annotations of in-flight requests, keyed by the request's UserInfo: the security gate gives every request
 * its own UserInfo object, the one admission plugins receive, so it identifies the request without the plugins
 * seeing the HTTP layer.
 */
const annotations = new WeakMap<UserInfo, Record<string, string>>();

/** The audit annotations recorded so far for the request made as `user` (undefined when none). */
export function auditAnnotationsOf(user: UserInfo): Readonly<Record<string, string>> | undefined {
  return annotations.get(user);
}

/** Adds an annotation to the audit event of the request made as `user` (upstream admission AddAnnotation). */
export function addAuditAnnotation(user: UserInfo, key: string, value: string): void {
  const a = annotations.get(user);
  if (a) a[key] = value;
  else annotations.set(user, { [key]: value });
}

/** Writes audit events for requests. */
export class AuditLog {
  private readonly o: AuditLogOptions;
  private written = 0;

  constructor(o: AuditLogOptions) {
    this.o = o;
    this.written = existsSync(o.path) ? statSync(o.path).size : 0;
  }

  /** Arranges for the request's event to be written when its response finishes. */
  record(req: IncomingMessage, res: ServerResponse, info: { url: URL; method: string; user?: UserInfo; attributes?: Attributes }): void {
    const user = info.user ?? { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    const attributes: Attributes = info.attributes ?? {
      user, verb: info.method.toLowerCase(), resourceRequest: false, path: info.url.pathname, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '',
    };
    const level = auditLevelFor(this.o.policy, attributes);
    if (level === 'None') return;
    const auditId = randomUUID();
    if (!res.headersSent) res.setHeader('Audit-Id', auditId);
    const received = new Date().toISOString();
    if (level === 'Request' || level === 'RequestResponse') {
      const chunks: Buffer[] = [];
      requestBodies.set(req, chunks);
      // Tee the body without a 'data' listener of our own, which would start the stream before the handler reads it.
      const emit = req.emit.bind(req);
      req.emit = ((ev: string | symbol, ...args: unknown[]) => {
        if (ev === 'data' && Buffer.isBuffer(args[0]) && chunks.reduce((n, x) => n + x.length, 0) < 1024 * 1024) chunks.push(args[0]);
        return (emit as (e: string | symbol, ...a: unknown[]) => boolean)(ev, ...args);
      }) as typeof req.emit;
    }
    let responseBody: Buffer[] | undefined;
    if (level === 'RequestResponse') {
      responseBody = [];
      const write = res.write.bind(res);
      const end = res.end.bind(res);
      const keep = (c: unknown): void => {
        if (c && (typeof c === 'string' || Buffer.isBuffer(c)) && responseBody!.reduce((n, b) => n + b.length, 0) < 1024 * 1024) responseBody!.push(Buffer.from(c));
      };
      res.write = ((c: unknown, ...rest: unknown[]) => {
        keep(c);
        return (write as (...a: unknown[]) => boolean)(c, ...rest);
      }) as typeof res.write;
      res.end = ((c?: unknown, ...rest: unknown[]) => {
        if (typeof c !== 'function') keep(c);
        return (end as (...a: unknown[]) => ServerResponse)(c, ...rest);
      }) as typeof res.end;
    }
    const done = (): void => {
      const ev: Record<string, unknown> = {
        kind: 'Event', apiVersion: 'audit.k8s.io/v1', level, auditID: auditId, stage: 'ResponseComplete',
        requestURI: info.url.pathname + info.url.search, verb: attributes.verb,
        user: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) },
        sourceIPs: [req.socket.remoteAddress ?? ''], userAgent: req.headers['user-agent'] ?? '',
        responseStatus: { metadata: {}, code: res.statusCode },
        requestReceivedTimestamp: received, stageTimestamp: new Date().toISOString(),
      };
      const notes = info.user ? auditAnnotationsOf(info.user) : undefined;
      if (notes) ev.annotations = { ...notes };
      if (attributes.resourceRequest) {
        ev.objectRef = {
          resource: attributes.resource, ...(attributes.namespace ? { namespace: attributes.namespace } : {}), ...(attributes.name ? { name: attributes.name } : {}),
          apiGroup: attributes.apiGroup, apiVersion: attributes.apiVersion, ...(attributes.subresource ? { subresource: attributes.subresource } : {}),
        };
      }
      const body = requestBodies.get(req);
      if (body && body.length > 0) ev.requestObject = tryJson(Buffer.concat(body));
      if (responseBody && responseBody.length > 0) ev.responseObject = tryJson(Buffer.concat(responseBody));
      this.write(JSON.stringify(ev) + '\n');
    };
    // The gate may already have answered (401/403) by the time the event is set up.
    if (res.writableFinished) done();
    else res.once('finish', done);
  }

  private write(line: string): void {
    try {
      const max = this.o.maxBytes ?? 100 * 1024 * 1024;
      if (this.written + line.length > max && this.written > 0) this.rotate();
      appendFileSync(this.o.path, line, { mode: 0o600 });
      this.written += Buffer.byteLength(line);
    } catch (e) {
      log.error('audit event not written', { err: e });
    }
  }

  private rotate(): void {
    const keep = this.o.maxBackups ?? 5;
    const old = `${this.o.path}.${keep}`;
    if (existsSync(old)) unlinkSync(old);
    for (let i = keep - 1; i >= 1; i--) {
      const from = `${this.o.path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.o.path}.${i + 1}`);
    }
    if (existsSync(this.o.path)) renameSync(this.o.path, `${this.o.path}.1`);
    this.written = 0;
  }
}

function tryJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Reads an audit policy file. */
export function loadAuditPolicy(path: string): AuditPolicy {
  return parseAuditPolicy(readFileSync(path, 'utf8'));
}
