/**
 * The API endpoints the security stage serves itself: the access and identity reviews (never stored), the
 * TokenRequest subresource (serviceaccounts/token), and CertificateSigningRequest creation (the requestor is
 * recorded from the authenticated user), approval and signing by the cluster CA.
 */
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from 'kubernetes-types/certificates/v1.js';
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import type { ResourcePath } from '../routes.ts';
import type { RequestContext } from '../request.ts';
import { readBody, sendJson } from '../request.ts';
import { badRequest, invalid, methodNotAllowed, notFound } from '../errors.ts';
import { bodyFormat, parseJsonBody, parseYamlBody, requireObject } from '../codec.ts';
import type { Store } from '../registry/store.ts';
import type { KubeObject, StoredObject } from '../../api/meta/types.ts';
import { fieldError } from '../../api/meta/field-errors.ts';
import { KUBE_APISERVER_CLIENT_KUBELET_SIGNER, KUBE_APISERVER_CLIENT_SIGNER, csrPem } from '../../api/certificates/v1/certificate-signing-request.ts';
import { rfc3339Now } from '../../api/meta/time.ts';
import type { Attributes, UserInfo } from './user.ts';
import { Groups } from './user.ts';
import type { RequestGate } from './security.ts';
import { forbiddenError } from './security.ts';
import type { ServiceAccountTokens } from './service-account-token.ts';
import type { CertificateAuthority } from '../tls/pki.ts';
import { parseCertificateRequest, signCertificateRequest } from '../tls/pki.ts';
import type { CertificateRequestInfo } from '../tls/pki.ts';
import { logger } from '../../base/log.ts';

/** The built-in signer of node serving certificates (the agents' streaming endpoints). */
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';

/**
 * The request of a kubelet-serving CSR when it meets upstream's rules for that signer — subject
 * CN system:node:<name> with O exactly [system:nodes], at least one DNS or IP name and no other kind, usages
 * server auth plus digital signature (and optionally key encipherment) — else undefined.
 */
async function servingRequestInfo(csr: CertificateSigningRequest): Promise<CertificateRequestInfo | undefined> {
  const pem = csrPem(csr.spec.request);
  if ('error' in pem) return undefined;
  let info: CertificateRequestInfo;
  try {
    info = await parseCertificateRequest(pem.pem);
  } catch {
    return undefined;
  }
  if (!info.commonName.startsWith('system:node:') || info.commonName === 'system:node:') return undefined;
  if (info.organizations.length !== 1 || info.organizations[0] !== Groups.nodes) return undefined;
  if (info.sans.length === 0 || info.otherSans.length > 0) return undefined;
  const usages = new Set(csr.spec.usages ?? []);
  if (!usages.has('server auth') || !usages.has('digital signature') || [...usages].some((u) => u !== 'server auth' && u !== 'digital signature' && u !== 'key encipherment')) return undefined;
  return info;
}

const log = logger('auth-endpoints');

/** Dependencies of the security endpoints. */
export interface SecurityEndpointsOptions {
  gate: RequestGate;
  storeFor: (group: string, resource: string) => Store | undefined;
  tokens?: ServiceAccountTokens;
  ca?: CertificateAuthority;
  /** Longest TokenRequest lifetime (default 48 h, as --service-account-max-token-expiration is often set). */
  maxTokenSeconds?: number;
}

const REVIEWS = new Set([
  'authorization.k8s.io/selfsubjectaccessreviews', 'authorization.k8s.io/selfsubjectrulesreviews', 'authorization.k8s.io/subjectaccessreviews',
  'authorization.k8s.io/localsubjectaccessreviews', 'authentication.k8s.io/selfsubjectreviews', 'authentication.k8s.io/tokenreviews',
]);

async function readObject(ctx: RequestContext): Promise<Record<string, unknown>> {
  const raw = await readBody(ctx.req, 3 * 1024 * 1024);
  const fmt = bodyFormat(ctx.req.headers['content-type']);
  if (fmt === 'protobuf') {
    const { decodeProtobufBody } = await import('../protobuf-body.ts');
    return decodeProtobufBody(raw) as Record<string, unknown>;
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty: an object is required');
  return requireObject(fmt === 'yaml' ? parseYamlBody(text) : parseJsonBody(text)) as Record<string, unknown>;
}

function userInfoOf(u: UserInfo): Record<string, unknown> {
  return { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) };
}

function toReviewRules(rules: PolicyRule[]): { resourceRules: unknown[]; nonResourceRules: unknown[] } {
  const resourceRules: unknown[] = [];
  const nonResourceRules: unknown[] = [];
  for (const r of rules) {
    if ((r.nonResourceURLs ?? []).length > 0) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
    else resourceRules.push({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) });
  }
  return { resourceRules, nonResourceRules };
}

/** Serves the security stage's own endpoints. */
export class SecurityEndpoints {
  private readonly o: SecurityEndpointsOptions;

  constructor(o: SecurityEndpointsOptions) {
    this.o = o;
  }

  /** Whether `p` is served here rather than by the generic resource handler. */
  serves(p: ResourcePath, method: string): boolean {
    if (REVIEWS.has(`${p.group}/${p.resource}`)) return true;
    if (p.group === '' && p.resource === 'serviceaccounts' && p.subresource === 'token') return true;
    if (p.group === 'certificates.k8s.io' && p.resource === 'certificatesigningrequests') {
      return (method === 'POST' && !p.name) || p.subresource === 'approval';
    }
    return false;
  }

  /** Answers one request (the gate has already authorized its verb on the resource). */
  async serve(ctx: RequestContext, p: ResourcePath, user: UserInfo): Promise<void> {
    if (REVIEWS.has(`${p.group}/${p.resource}`)) {
      if (ctx.method !== 'POST' || p.name) {
        ctx.req.resume();
        throw methodNotAllowed('the server does not allow this method on the requested resource');
      }
      const body = await readObject(ctx);
      const out = await this.review(p, body, user);
      sendJson(ctx.res, 201, out);
      return;
    }
    if (p.resource === 'serviceaccounts') {
      if (ctx.method !== 'POST') {
        ctx.req.resume();
        throw methodNotAllowed('the server does not allow this method on the requested resource');
      }
      sendJson(ctx.res, 201, await this.tokenRequest(p, await readObject(ctx)));
      return;
    }
    if (p.subresource === 'approval') {
      if (ctx.method === 'GET') {
        ctx.req.resume();
        sendJson(ctx.res, 200, await this.store('certificates.k8s.io', 'certificatesigningrequests').get('', p.name));
        return;
      }
      if (ctx.method !== 'PUT') {
        ctx.req.resume();
        throw methodNotAllowed('the server does not allow this method on the requested resource');
      }
      sendJson(ctx.res, 200, await this.approve(p.name, await readObject(ctx), user));
      return;
    }
    const created = await this.createCsr(await readObject(ctx), user, ctx.url.searchParams.getAll('dryRun').length > 0);
    sendJson(ctx.res, 201, created);
  }

  private store(group: string, resource: string): Store {
    const s = this.o.storeFor(group, resource);
    if (!s) throw new Error(`no store for ${resource}.${group}`);
    return s;
  }

  private async review(p: ResourcePath, body: Record<string, unknown>, user: UserInfo): Promise<Record<string, unknown>> {
    const def = this.store(p.group, p.resource).def;
    const errs = def.validate ? def.validate(body as unknown as StoredObject, { namespace: p.namespace }) : [];
    if (errs.length > 0) throw invalid(def, '', errs);
    const spec = (body.spec ?? {}) as Record<string, unknown>;
    const base = { apiVersion: `${def.group}/${def.version}`, kind: def.kind, metadata: { ...((body.metadata as object | undefined) ?? {}), creationTimestamp: null } };
    switch (p.resource) {
      case 'selfsubjectreviews':
        return { ...base, status: { userInfo: userInfoOf(user) } };
      case 'tokenreviews': {
        const token = String(spec.token ?? '');
        const audiences = Array.isArray(spec.audiences) ? (spec.audiences as string[]) : undefined;
        const who = await this.o.gate.authenticator.fromToken(token);
        const apiAud = this.o.tokens?.apiAudiences ?? [];
        if (!who) return { ...base, spec, status: { authenticated: false, error: 'invalid bearer token', user: {} } };
        return { ...base, spec, status: { authenticated: true, user: userInfoOf({ ...who, groups: [...who.groups, Groups.authenticated] }), audiences: audiences ?? apiAud } };
      }
      case 'selfsubjectrulesreviews': {
        const ns = String(spec.namespace ?? '');
        const rules = this.o.gate.rbac?.rulesFor(user, ns) ?? [];
        return { ...base, spec, status: { ...toReviewRules(rules), incomplete: false } };
      }
      default: {
        let subject = user;
        if (p.resource === 'subjectaccessreviews' || p.resource === 'localsubjectaccessreviews') {
          subject = {
            name: String(spec.user ?? ''), groups: Array.isArray(spec.groups) ? (spec.groups as string[]) : [],
            ...(typeof spec.uid === 'string' ? { uid: spec.uid } : {}),
            ...(spec.extra && typeof spec.extra === 'object' ? { extra: spec.extra as Record<string, string[]> } : {}),
          };
        }
        const a = this.attributesOf(spec, subject);
        const d = this.o.gate.authorizer.authorize(a);
        const status: Record<string, unknown> = { allowed: d.decision === 'allow' };
        if (d.decision === 'deny') status.denied = true;
        if (d.reason) status.reason = d.reason;
        return { ...base, spec, status };
      }
    }
  }

  private attributesOf(spec: Record<string, unknown>, user: UserInfo): Attributes {
    const ra = spec.resourceAttributes as Record<string, string | undefined> | undefined;
    if (ra) {
      return {
        user, verb: ra.verb ?? '', resourceRequest: true, path: '', apiGroup: ra.group ?? '', apiVersion: ra.version ?? '',
        resource: ra.resource ?? '', subresource: ra.subresource ?? '', namespace: ra.namespace ?? '', name: ra.name ?? '',
      };
    }
    const nra = (spec.nonResourceAttributes ?? {}) as Record<string, string | undefined>;
    return { user, verb: nra.verb ?? '', resourceRequest: false, path: nra.path ?? '', apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
  }

  private async tokenRequest(p: ResourcePath, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const tokens = this.o.tokens;
    if (!tokens) throw badRequest('ServiceAccount token issuance is not configured on this server');
    const sa = await this.store('', 'serviceaccounts').get(p.namespace, p.name);
    const spec = (body.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } };
    const errs = [];
    const exp = spec.expirationSeconds ?? 3600;
    if (exp < 600) errs.push(fieldError.invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes'));
    if (exp > 2 ** 32) errs.push(fieldError.tooLong('spec.expirationSeconds', 2 ** 32));
    let bound: { kind: 'Pod' | 'Secret' | 'Node'; name: string; uid: string } | undefined;
    let node: { name: string; uid: string } | undefined;
    const ref = spec.boundObjectRef;
    if (ref) {
      const kind = ref.kind ?? '';
      if (kind !== 'Pod' && kind !== 'Secret' && kind !== 'Node') {
        errs.push(fieldError.notSupported('spec.boundObjectRef.kind', kind, ['Pod', 'Secret', 'Node']));
      } else {
        const resource = kind === 'Pod' ? 'pods' : kind === 'Secret' ? 'secrets' : 'nodes';
        const s = this.store('', resource);
        const obj = await s.get(kind === 'Node' ? '' : p.namespace, ref.name ?? '').catch(() => null);
        if (!obj) throw notFound(s.def, ref.name ?? '');
        if (ref.uid && ref.uid !== obj.metadata.uid) {
          throw new (await import('../errors.ts')).ApiError({
            kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Conflict', code: 409,
            message: `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
          });
        }
        bound = { kind, name: obj.metadata.name ?? '', uid: obj.metadata.uid ?? '' };
        if (kind === 'Pod') {
          const nodeName = (obj.spec as { nodeName?: string } | undefined)?.nodeName;
          if (nodeName) {
            const n = await this.store('', 'nodes').get('', nodeName).catch(() => null);
            if (n) node = { name: nodeName, uid: n.metadata.uid ?? '' };
          }
        }
      }
    }
    if (errs.length > 0) throw invalid({ group: 'authentication.k8s.io', kind: 'TokenRequest' }, p.name, errs);
    const seconds = Math.min(exp, this.o.maxTokenSeconds ?? 48 * 3600);
    const issued = await tokens.issue({
      namespace: p.namespace, serviceAccount: { name: sa.metadata.name ?? '', uid: sa.metadata.uid ?? '' },
      ...(spec.audiences && spec.audiences.length > 0 ? { audiences: spec.audiences } : {}),
      expirationSeconds: seconds, ...(bound ? { boundObject: bound } : {}), ...(node ? { node } : {}),
    });
    return {
      kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: p.name, namespace: p.namespace, creationTimestamp: null },
      spec: { audiences: spec.audiences && spec.audiences.length > 0 ? spec.audiences : tokens.apiAudiences, expirationSeconds: seconds, boundObjectRef: ref ?? null },
      status: { token: issued.token, expirationTimestamp: issued.expirationTimestamp },
    };
  }

  private async createCsr(body: Record<string, unknown>, user: UserInfo, dryRun: boolean): Promise<StoredObject> {
    const store = this.store('certificates.k8s.io', 'certificatesigningrequests');
    const obj = body as unknown as CertificateSigningRequest;
    obj.spec = { ...(obj.spec ?? ({} as CertificateSigningRequest['spec'])) };
    obj.spec.username = user.name;
    if (user.uid) obj.spec.uid = user.uid;
    else delete obj.spec.uid;
    obj.spec.groups = [...user.groups];
    if (user.extra) obj.spec.extra = user.extra;
    else delete obj.spec.extra;
    const created = await store.create('', obj as unknown as KubeObject, dryRun ? { dryRun: true } : {});
    if (dryRun) return created;
    return (await this.autoApprove(created as unknown as CertificateSigningRequest, user)) ?? created;
  }

  /**
   * upstream's csrapproving controller: a node client certificate request for the requestor's own node name (or a
   * bootstrap request for any system:node:<name>) is approved when the requestor may create the matching
   * certificatesigningrequests/selfnodeclient or /nodeclient subresource; the CA then signs it at once.
   */
  private async autoApprove(csr: CertificateSigningRequest, user: UserInfo): Promise<StoredObject | undefined> {
    if (csr.spec.signerName === KUBELET_SERVING_SIGNER) return this.autoApproveServing(csr, user);
    if (csr.spec.signerName !== KUBE_APISERVER_CLIENT_KUBELET_SIGNER) return undefined;
    const pem = csrPem(csr.spec.request);
    if ('error' in pem) return undefined;
    let subject;
    try {
      subject = await parseCertificateRequest(pem.pem);
    } catch {
      return undefined;
    }
    if (!subject.commonName.startsWith('system:node:') || subject.organizations.length !== 1 || subject.organizations[0] !== Groups.nodes) return undefined;
    const usages = new Set(csr.spec.usages ?? []);
    if (!usages.has('client auth') || [...usages].some((u) => u !== 'client auth' && u !== 'digital signature' && u !== 'key encipherment')) return undefined;
    const self = user.name === subject.commonName;
    const sub = self ? 'selfnodeclient' : 'nodeclient';
    const allowed = this.o.gate.allowed(user, {
      verb: 'create', resourceRequest: true, path: '', apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', subresource: sub, namespace: '', name: '',
    });
    if (!allowed) return undefined;
    return this.setApproval(csr.metadata?.name ?? '', { type: 'Approved', status: 'True', reason: 'AutoApproved', message: `Auto approving ${self ? 'self ' : ''}kubelet client certificate after SubjectAccessReview.` });
  }

  /**
   * A node's serving certificate for its streaming endpoint (signer kubernetes.io/kubelet-serving, the kubelet's
   * serverTLSBootstrap). Upstream leaves these to an approver; like k3s, Skiff approves a request that meets the
   * signer's rules (CN system:node:<name>, O system:nodes, DNS/IP names only, server usages) when the node asks for
   * itself, or when the requestor could approve it anyway.
   */
  private async autoApproveServing(csr: CertificateSigningRequest, user: UserInfo): Promise<StoredObject | undefined> {
    const info = await servingRequestInfo(csr);
    if (!info) return undefined;
    const self = user.name === info.commonName;
    const approver = this.o.gate.allowed(user, {
      verb: 'approve', resourceRequest: true, path: '', apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'signers', subresource: '', namespace: '', name: KUBELET_SERVING_SIGNER,
    });
    if (!self && !approver) return undefined;
    return this.setApproval(csr.metadata?.name ?? '', { type: 'Approved', status: 'True', reason: 'AutoApproved', message: `Auto approving ${self ? 'self ' : ''}kubelet serving certificate.` });
  }

  private async approve(name: string, body: Record<string, unknown>, user: UserInfo): Promise<StoredObject> {
    const store = this.store('certificates.k8s.io', 'certificatesigningrequests');
    const current = (await store.get('', name)) as unknown as CertificateSigningRequest;
    const wanted = ((body.status as { conditions?: CertificateSigningRequestCondition[] } | undefined)?.conditions ?? [])
      .filter((c) => c.type === 'Approved' || c.type === 'Denied');
    for (const c of wanted) {
      // Approving or denying for a signer needs the `approve` verb on that signer (upstream's CSR approval check).
      const signer = current.spec.signerName;
      const ok = this.o.gate.allowed(user, { verb: 'approve', resourceRequest: true, path: '', apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'signers', subresource: '', namespace: '', name: signer })
        || this.o.gate.allowed(user, { verb: 'approve', resourceRequest: true, path: '', apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'signers', subresource: '', namespace: '', name: `${signer.split('/')[0]}/*` });
      if (!ok) {
        throw forbiddenError({ user, verb: 'approve', resourceRequest: true, path: '', apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'signers', subresource: '', namespace: '', name: signer }, '');
      }
      void c;
    }
    const approved = wanted.find((c) => c.type === 'Approved' && c.status !== 'False');
    const denied = wanted.find((c) => c.type === 'Denied' && c.status !== 'False');
    if (approved && denied) {
      throw invalid({ group: 'certificates.k8s.io', kind: 'CertificateSigningRequest' }, name, [fieldError.invalid('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive')]);
    }
    const cond = approved ?? denied;
    if (!cond) return current as unknown as StoredObject;
    return this.setApproval(name, { type: cond.type, status: 'True', reason: cond.reason ?? (cond.type === 'Approved' ? 'KubectlApprove' : 'KubectlDeny'), message: cond.message ?? '' });
  }

  private async setApproval(name: string, cond: { type: string; status: string; reason: string; message: string }): Promise<StoredObject> {
    const store = this.store('certificates.k8s.io', 'certificatesigningrequests');
    const now = rfc3339Now();
    let updated = await store.guaranteedUpdate('', name, (cur) => {
      const csr = cur as unknown as CertificateSigningRequest;
      const conds = [...(csr.status?.conditions ?? [])];
      const other = cond.type === 'Approved' ? 'Denied' : 'Approved';
      if (conds.some((c) => c.type === other && c.status === 'True')) {
        throw invalid({ group: 'certificates.k8s.io', kind: 'CertificateSigningRequest' }, name, [fieldError.invalid('status.conditions', cond.type, 'Approved and Denied conditions are mutually exclusive')]);
      }
      if (!conds.some((c) => c.type === cond.type)) conds.push({ ...cond, lastUpdateTime: now, lastTransitionTime: now });
      csr.status = { ...(csr.status ?? {}), conditions: conds };
      return cur;
    }, { subresource: 'status' });
    if (cond.type === 'Approved') updated = await this.sign(updated);
    return updated;
  }

  /** The built-in signers: client certificates for the API server, issued by the cluster CA. */
  private async sign(obj: StoredObject): Promise<StoredObject> {
    const csr = obj as unknown as CertificateSigningRequest;
    const ca = this.o.ca;
    if (!ca || csr.status?.certificate) return obj;
    const serving = csr.spec.signerName === KUBELET_SERVING_SIGNER;
    if (!serving && csr.spec.signerName !== KUBE_APISERVER_CLIENT_KUBELET_SIGNER && csr.spec.signerName !== KUBE_APISERVER_CLIENT_SIGNER) return obj;
    const pem = csrPem(csr.spec.request);
    if ('error' in pem) return obj;
    let cert: string;
    try {
      // The kubelet-serving signer only signs what its rules allow, whoever approved the request.
      if (serving && !(await servingRequestInfo(csr))) throw new Error('the request does not meet the kubernetes.io/kubelet-serving signer\'s rules');
      const days = csr.spec.expirationSeconds ? Math.max(1, Math.floor(csr.spec.expirationSeconds / 86400)) : 365;
      cert = await signCertificateRequest(ca, pem.pem, { days, ...(serving ? { usage: 'server' as const } : {}) });
    } catch (e) {
      log.warn('certificate request not signed', { name: csr.metadata?.name, err: e });
      const store = this.store('certificates.k8s.io', 'certificatesigningrequests');
      const now = rfc3339Now();
      return store.guaranteedUpdate('', csr.metadata?.name ?? '', (cur) => {
        const c = cur as unknown as CertificateSigningRequest;
        c.status = { ...(c.status ?? {}), conditions: [...(c.status?.conditions ?? []), { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: (e as Error).message, lastUpdateTime: now, lastTransitionTime: now }] };
        return cur;
      }, { subresource: 'status' });
    }
    const store = this.store('certificates.k8s.io', 'certificatesigningrequests');
    return store.guaranteedUpdate('', csr.metadata?.name ?? '', (cur) => {
      const c = cur as unknown as CertificateSigningRequest;
      c.status = { ...(c.status ?? {}), certificate: Buffer.from(cert).toString('base64') };
      return cur;
    }, { subresource: 'status' });
  }
}
