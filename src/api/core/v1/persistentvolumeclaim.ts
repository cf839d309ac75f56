/**
 * PersistentVolumeClaim (core/v1): SetDefaults_PersistentVolumeClaim(Spec), ValidatePersistentVolumeClaim(Update),
 * the PVC strategy (status subresource) and printPersistentVolumeClaim.
 */
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { isValidQuantity, parseQuantity } from '../../meta/quantity.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isDNS1123Subdomain, nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, deepEqual, validateMeta, validateMetaUpdate, writable } from './helpers.ts';
import {
  accessModesString, betaStorageClassAnnotation, supportedAccessModes, supportedVolumeModes, validatePositiveQuantity,
} from './persistentvolume.ts';

function validatePVCSpec(pvc: PersistentVolumeClaim): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pvc.spec ?? {};
  const modes = spec.accessModes ?? [];
  if (modes.length === 0) errs.push(fieldError.required('spec.accessModes', 'at least 1 access mode is required'));
  for (const m of modes) if (!supportedAccessModes.includes(m)) errs.push(fieldError.notSupported('spec.accessModes', m, supportedAccessModes));
  const storage = spec.resources?.requests?.['storage'];
  if (storage === undefined) errs.push(fieldError.required('spec.resources[storage]'));
  else errs.push(...validatePositiveQuantity(storage, 'spec.resources[storage]'));
  if (spec.volumeMode && !supportedVolumeModes.includes(spec.volumeMode)) {
    errs.push(fieldError.notSupported('spec.volumeMode', spec.volumeMode, supportedVolumeModes));
  }
  if (spec.storageClassName) {
    for (const m of isDNS1123Subdomain(spec.storageClassName)) errs.push(fieldError.invalid('spec.storageClassName', spec.storageClassName, m));
  }
  return errs;
}

/** ValidatePersistentVolumeClaimUpdate: the spec is immutable except storage requests of bound claims and binding. */
function validatePVCUpdate(pvc: PersistentVolumeClaim, old: PersistentVolumeClaim): FieldError[] {
  const errs: FieldError[] = [];
  const newSpec = clone(pvc.spec ?? {});
  const oldSpec = clone(old.spec ?? {});
  // The binder fills volumeName once.
  if (!oldSpec.volumeName) oldSpec.volumeName = newSpec.volumeName;
  if (old.status?.phase === 'Bound') {
    const newStorage = newSpec.resources?.requests?.['storage'];
    const oldStorage = oldSpec.resources?.requests?.['storage'];
    if (newStorage !== undefined && oldStorage !== undefined && isValidQuantity(String(newStorage)) && isValidQuantity(String(oldStorage)) &&
      parseQuantity(String(newStorage)).cmp(parseQuantity(String(oldStorage))) < 0) {
      errs.push(fieldError.forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
    }
    newSpec.resources = { ...(newSpec.resources ?? {}), requests: clone(oldSpec.resources?.requests) };
  }
  if (!deepEqual(newSpec, oldSpec)) {
    errs.push(fieldError.forbidden('spec', 'spec is immutable after creation except resources.requests for bound claims'));
  }
  return errs;
}

/** persistentvolumeclaims: the core/v1 PersistentVolumeClaim kind. */
export const persistentvolumeclaims = defineResource<PersistentVolumeClaim>({
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  subresources: { status: true },
  defaults(pvc) {
    if (pvc.status && !pvc.status.phase) pvc.status.phase = 'Pending';
    const spec = (pvc.spec ??= {});
    if (!spec.volumeMode) spec.volumeMode = 'Filesystem';
  },
  validate(pvc) {
    return [...validateMeta(pvc.metadata, true, nameIsDNSSubdomain), ...validatePVCSpec(pvc)];
  },
  validateUpdate(pvc, old) {
    return [...validateMetaUpdate(pvc.metadata, old.metadata), ...validatePVCUpdate(pvc, old)];
  },
  strategy: {
    prepareForCreate(pvc) {
      writable(pvc).status = { phase: 'Pending' };
    },
    prepareForUpdate(pvc, old) {
      writable(pvc).status = clone(old.status);
    },
    prepareForStatusUpdate(pvc, old) {
      pvc.spec = clone(old.spec);
    },
  },
  columns: [
    { name: 'Status', type: 'string', description: 'phase represents the current phase of PersistentVolumeClaim.', cell: (c) => (c.metadata?.deletionTimestamp ? 'Terminating' : c.status?.phase ?? '') },
    { name: 'Volume', type: 'string', description: 'volumeName is the binding reference to the PersistentVolume backing this claim.', cell: (c) => c.spec?.volumeName ?? '' },
    { name: 'Capacity', type: 'string', description: 'capacity represents the actual resources of the underlying volume.', cell: (c) => (c.spec?.volumeName ? String(c.status?.capacity?.['storage'] ?? '0') : '') },
    { name: 'Access Modes', type: 'string', description: 'accessModes contains the actual access modes the volume backing the PVC has.', cell: (c) => (c.spec?.volumeName ? accessModesString(c.status?.accessModes) : '') },
    { name: 'StorageClass', type: 'string', description: 'StorageClass of the pvc', cell: (c) => c.metadata?.annotations?.[betaStorageClassAnnotation] ?? c.spec?.storageClassName ?? '' },
    { name: 'VolumeAttributesClass', type: 'string', description: 'VolumeAttributesClass of the pvc', cell: (c) => c.spec?.volumeAttributesClassName ?? '<unset>' },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (c, now) => translateTimestampSince(c.metadata?.creationTimestamp, now) },
    { name: 'VolumeMode', type: 'string', priority: 1, description: 'volumeMode defines what type of volume is required by the claim.', cell: (c) => c.spec?.volumeMode ?? '<unset>' },
  ],
  examples: [{
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  }],
});
