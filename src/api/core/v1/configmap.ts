/**
 * ConfigMap (core/v1): ValidateConfigMap/ValidateConfigMapUpdate and printConfigMap.
 */
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isConfigMapKey, nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { deepEqual, validateMeta, validateMetaUpdate } from './helpers.ts';

/** The size limit of ConfigMap and Secret data (core.MaxSecretSize, 1 MiB). */
export const maxDataSize = 1024 * 1024;

function validateConfigMapData(cm: ConfigMap): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(cm.data ?? {})) {
    for (const msg of isConfigMapKey(key)) errs.push(fieldError.invalid(`data[${key}]`, key, msg));
    total += Buffer.byteLength(value);
  }
  for (const [key, value] of Object.entries(cm.binaryData ?? {})) {
    for (const msg of isConfigMapKey(key)) errs.push(fieldError.invalid(`binaryData[${key}]`, key, msg));
    if (cm.data && key in cm.data) errs.push(fieldError.invalid('binaryData', key, 'duplicate of key present in data'));
    total += Buffer.from(value, 'base64').length;
  }
  if (total > maxDataSize) errs.push(fieldError.tooLong('', maxDataSize));
  return errs;
}

/** configmaps: the core/v1 ConfigMap kind. */
export const configmaps = defineResource<ConfigMap>({
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  validate(cm) {
    return [...validateMeta(cm.metadata, true, nameIsDNSSubdomain), ...validateConfigMapData(cm)];
  },
  validateUpdate(cm, old) {
    const errs = validateMetaUpdate(cm.metadata, old.metadata);
    if (old.immutable === true) {
      if (cm.immutable !== true) errs.push(fieldError.forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (!deepEqual(cm.data ?? {}, old.data ?? {})) errs.push(fieldError.forbidden('data', 'field is immutable when `immutable` is set'));
      if (!deepEqual(cm.binaryData ?? {}, old.binaryData ?? {})) {
        errs.push(fieldError.forbidden('binaryData', 'field is immutable when `immutable` is set'));
      }
    }
    return errs;
  },
  columns: [
    { name: 'Data', type: 'integer', description: 'Data contains the configuration data.', cell: (cm) => Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (cm, now) => translateTimestampSince(cm.metadata?.creationTimestamp, now) },
  ],
  examples: [{
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'default' },
    data: { 'app.properties': 'color=blue\n', LOG_LEVEL: 'info' },
  }],
});
