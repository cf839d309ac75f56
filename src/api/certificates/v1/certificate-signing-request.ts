/**
 * certificates.k8s.io/v1 CertificateSigningRequest (cluster-scoped). The requestor fields (spec.username, uid,
 * groups, extra) are set by the API server from the authenticated user; the approval subresource adds the
 * Approved/Denied condition and the signer fills status.certificate.
 */
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isQualifiedName, validateObjectMeta, validateObjectMetaUpdate, validatePathSegmentName } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { creationTimestampDoc } from '../../apps/v1/workload.ts';

/** The key usages a CSR may ask for (upstream KeyUsage constants). */
export const knownUsages = [
  'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment',
  'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing',
  'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing',
  'microsoft sgc', 'netscape sgc',
];

/** The built-in signer for node and user client certificates. */
export const KUBE_APISERVER_CLIENT_KUBELET_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
/** The built-in signer for other client certificates. */
export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';

/** Decodes spec.request (base64 of a PEM CERTIFICATE REQUEST) to the PEM text, or an error message. */
export function csrPem(request: string | undefined): { pem: string } | { error: string } {
  if (!request) return { error: 'PEM block type must be CERTIFICATE REQUEST' };
  const text = Buffer.from(request, 'base64').toString('utf8');
  const m = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/.exec(text);
  if (!m || m[1] !== 'CERTIFICATE REQUEST') return { error: 'PEM block type must be CERTIFICATE REQUEST' };
  return { pem: m[0] };
}

function validateSignerName(name: string | undefined): FieldError[] {
  if (!name) return [fieldError.required('spec.signerName', '')];
  const parts = name.split('/');
  if (parts.length < 2) return [fieldError.invalid('spec.signerName', name, 'must be a fully qualified domain and path of the form \'example.com/signer-name\'')];
  const errs: FieldError[] = [];
  if (isQualifiedName(parts.slice(0, 2).join('/')).length > 0 && !/^[a-z0-9.-]+$/.test(parts[0] ?? '')) {
    errs.push(fieldError.invalid('spec.signerName', name, 'the domain of a signerName must be a valid DNS subdomain'));
  }
  return errs;
}

/** ValidateCertificateSigningRequestCreate: a PEM request, a signer, known usages, a duration of at least 10 minutes. */
export function validateCsr(csr: CertificateSigningRequest): FieldError[] {
  const errs = validateObjectMeta(csr.metadata, { namespaced: false, nameValidator: validatePathSegmentName });
  const spec = csr.spec ?? ({} as CertificateSigningRequest['spec']);
  const pem = csrPem(spec.request);
  if ('error' in pem) errs.push(fieldError.invalid('spec.request', spec.request ?? '', pem.error));
  if ((spec.usages ?? []).length === 0) errs.push(fieldError.required('spec.usages', 'usages must be provided'));
  (spec.usages ?? []).forEach((u, i) => {
    if (!knownUsages.includes(u)) errs.push(fieldError.notSupported(`spec.usages[${i}]`, u, knownUsages));
  });
  errs.push(...validateSignerName(spec.signerName));
  if (spec.expirationSeconds !== undefined && spec.expirationSeconds < 600) {
    errs.push(fieldError.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  }
  return errs;
}

function conditionSummary(csr: CertificateSigningRequest): string {
  const types: string[] = [];
  for (const c of csr.status?.conditions ?? []) if (c.status !== 'False') types.push(c.type);
  if (csr.status?.certificate) types.push('Issued');
  return types.length > 0 ? types.join(',') : 'Pending';
}

function durationText(s: number | undefined): string {
  if (s === undefined) return '<none>';
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** The certificates.k8s.io/v1 CertificateSigningRequest kind. */
export const certificateSigningRequests = defineResource<CertificateSigningRequest>({
  group: 'certificates.k8s.io',
  version: 'v1',
  kind: 'CertificateSigningRequest',
  plural: 'certificatesigningrequests',
  singular: 'certificatesigningrequest',
  namespaced: false,
  shortNames: ['csr'],
  subresources: {
    status: true,
    others: [{ name: 'approval', kind: 'CertificateSigningRequest', verbs: ['get', 'patch', 'update'] }],
  },
  validate: validateCsr,
  validateUpdate: (csr, old) => validateObjectMetaUpdate(csr.metadata ?? {}, old.metadata ?? {}),
  strategy: {
    prepareForCreate: (csr) => {
      delete csr.status;
    },
    prepareForUpdate: (csr, old) => {
      // The spec is immutable and the status belongs to the approval and status subresources.
      csr.spec = old.spec;
      if (old.status) csr.status = old.status;
      else delete csr.status;
    },
    prepareForStatusUpdate: (csr, old) => {
      csr.spec = old.spec;
    },
  },
  columns: [
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (c, now) => translateTimestampSince(c.metadata?.creationTimestamp, now) },
    { name: 'SignerName', type: 'string', description: 'signerName indicates the requested signer, and is a qualified name.', cell: (c) => c.spec?.signerName ?? '' },
    { name: 'Requestor', type: 'string', description: 'Name of the user who requested the certificate.', cell: (c) => c.spec?.username ?? '' },
    { name: 'RequestedDuration', type: 'string', description: 'expirationSeconds is the requested duration of validity of the issued certificate.', cell: (c) => durationText(c.spec?.expirationSeconds) },
    { name: 'Condition', type: 'string', description: 'Conditions applied to the request, such as approval or denial.', cell: conditionSummary },
  ],
  examples: [
    {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'node-csr-example' },
      spec: {
        request: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMIIBAA==\n-----END CERTIFICATE REQUEST-----\n').toString('base64'),
        signerName: KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
        usages: ['digital signature', 'client auth'],
      },
    },
  ],
});
