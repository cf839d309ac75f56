/**
 * Secret (core/v1): SetDefaults_Secret (and the v1 conversion that folds stringData into data), ValidateSecret with
 * its per-type rules, ValidateSecretUpdate and printSecret. Data values are base64 in JSON.
 */
import type { Secret } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isConfigMapKey, nameIsDNSSubdomain, validateImmutableField } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { maxDataSize } from './configmap.ts';
import { deepEqual, validateMeta, validateMetaUpdate } from './helpers.ts';

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The problem with a base64 data value, worded as Go's encoding/base64 error, or undefined when it decodes. */
function base64Problem(v: string): string | undefined {
  if (base64Pattern.test(v)) return undefined;
  let i = 0;
  while (i < v.length && /[A-Za-z0-9+/]/.test(v.charAt(i))) i++;
  return `illegal base64 data at input byte ${i}`;
}

function decodedJSON(v: string | undefined): string | undefined {
  if (v === undefined || base64Problem(v)) return undefined;
  try {
    JSON.parse(Buffer.from(v, 'base64').toString('utf8'));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function validateSecretData(s: Secret): FieldError[] {
  const errs: FieldError[] = [];
  const data = s.data ?? {};
  let total = 0;
  for (const [key, value] of Object.entries(data)) {
    for (const msg of isConfigMapKey(key)) errs.push(fieldError.invalid(`data[${key}]`, key, msg));
    const problem = base64Problem(value);
    if (problem) errs.push(fieldError.invalid(`data[${key}]`, '<secret contents redacted>', problem));
    else total += Buffer.from(value, 'base64').length;
  }
  if (total > maxDataSize) errs.push(fieldError.tooLong('data', maxDataSize));
  const has = (k: string): boolean => k in data;
  switch (s.type) {
    case 'kubernetes.io/service-account-token':
      if (!s.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(fieldError.required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/dockercfg': {
      if (!has('.dockercfg')) {
        errs.push(fieldError.required('data[.dockercfg]'));
        break;
      }
      const err = decodedJSON(data['.dockercfg']);
      if (err) errs.push(fieldError.invalid('data[.dockercfg]', '<secret contents redacted>', err));
      break;
    }
    case 'kubernetes.io/dockerconfigjson': {
      if (!has('.dockerconfigjson')) {
        errs.push(fieldError.required('data[.dockerconfigjson]'));
        break;
      }
      const err = decodedJSON(data['.dockerconfigjson']);
      if (err) errs.push(fieldError.invalid('data[.dockerconfigjson]', '<secret contents redacted>', err));
      break;
    }
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) {
        errs.push(fieldError.required('data[username]'), fieldError.required('data[password]'));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!has('ssh-privatekey')) errs.push(fieldError.required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.key')) errs.push(fieldError.required('data[tls.key]'));
      if (!has('tls.crt')) errs.push(fieldError.required('data[tls.crt]'));
      break;
    default:
      break;
  }
  return errs;
}

/** SetDefaults_Secret (type Opaque) and the v1 conversion's merge of stringData into data (stringData wins). */
export function defaultSecret(s: Secret): void {
  if (s.stringData) {
    s.data = { ...(s.data ?? {}) };
    for (const [k, v] of Object.entries(s.stringData)) s.data[k] = Buffer.from(v, 'utf8').toString('base64');
    delete s.stringData;
  }
  if (!s.type) s.type = 'Opaque';
}

/** secrets: the core/v1 Secret kind. */
export const secrets = defineResource<Secret>({
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  defaults: defaultSecret,
  validate(s) {
    return [...validateMeta(s.metadata, true, nameIsDNSSubdomain), ...validateSecretData(s)];
  },
  validateUpdate(s, old) {
    const errs = validateMetaUpdate(s.metadata, old.metadata);
    errs.push(...validateImmutableField(s.type, old.type, 'type'));
    if (old.immutable === true) {
      if (s.immutable !== true) errs.push(fieldError.forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (!deepEqual(s.data ?? {}, old.data ?? {})) errs.push(fieldError.forbidden('data', 'field is immutable when `immutable` is set'));
    }
    return errs;
  },
  columns: [
    { name: 'Type', type: 'string', description: 'Used to facilitate programmatic handling of secret data.', cell: (s) => s.type ?? '' },
    { name: 'Data', type: 'string', description: 'Data contains the secret data.', cell: (s) => Object.keys(s.data ?? {}).length },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (s, now) => translateTimestampSince(s.metadata?.creationTimestamp, now) },
  ],
  fieldSelectors: {
    type: (s) => s.type ?? '',
  },
  examples: [{
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-credentials', namespace: 'default' },
    type: 'Opaque',
    data: { username: 'YWRtaW4=', password: 'czNjcjN0' },
  }],
});
