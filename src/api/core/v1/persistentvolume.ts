/**
 * PersistentVolume (core/v1, cluster-scoped): SetDefaults_PersistentVolume, ValidatePersistentVolume(Update), the
 * PV strategy (status subresource with lastPhaseTransitionTime) and printPersistentVolume.
 */
import type { PersistentVolume } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { isValidQuantity, parseQuantity } from '../../meta/quantity.ts';
import { rfc3339Now, translateTimestampSince } from '../../meta/time.ts';
import { isDNS1123Subdomain, nameIsDNSSubdomain, validateImmutableField } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, validateMeta, validateMetaUpdate, writable } from './helpers.ts';

/** Supported access modes, sorted as upstream lists them in errors. */
export const supportedAccessModes = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
/** Supported volume modes. */
export const supportedVolumeModes = ['Block', 'Filesystem'];
const supportedReclaimPolicies = ['Delete', 'Recycle', 'Retain'];
const pvSourceKeys = [
  'gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'iscsi', 'cinder', 'cephfs', 'fc',
  'flocker', 'flexVolume', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume',
  'scaleIO', 'local', 'storageos', 'csi',
] as const;
/** The annotation that predates spec.storageClassName and still wins over it. */
export const betaStorageClassAnnotation = 'volume.beta.kubernetes.io/storage-class';

/** helper.GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, comma-joined. */
export function accessModesString(modes: string[] | undefined): string {
  const m = new Set(modes ?? []);
  const out: string[] = [];
  if (m.has('ReadWriteOnce')) out.push('RWO');
  if (m.has('ReadOnlyMany')) out.push('ROX');
  if (m.has('ReadWriteMany')) out.push('RWX');
  if (m.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/** ValidatePositiveQuantityValue plus the quantity format check. */
export function validatePositiveQuantity(v: unknown, path: string): FieldError[] {
  const s = String(v);
  if (!isValidQuantity(s)) return [fieldError.invalid(path, v, 'must be a valid quantity')];
  if (parseQuantity(s).cmp(parseQuantity('0')) <= 0) return [fieldError.invalid(path, s, 'must be greater than zero')];
  return [];
}

function validatePVSpec(pv: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pv.spec ?? {};
  const modes = spec.accessModes ?? [];
  if (modes.length === 0) errs.push(fieldError.required('spec.accessModes'));
  for (const m of modes) if (!supportedAccessModes.includes(m)) errs.push(fieldError.notSupported('spec.accessModes', m, supportedAccessModes));
  const cap = spec.capacity ?? {};
  const capKeys = Object.keys(cap);
  if (capKeys.length === 0) errs.push(fieldError.required('spec.capacity'));
  if (!('storage' in cap) || capKeys.length > 1) errs.push(fieldError.notSupported('spec.capacity', cap, ['storage']));
  for (const [k, v] of Object.entries(cap)) errs.push(...validatePositiveQuantity(v, `spec.capacity[${k}]`));
  const policy = spec.persistentVolumeReclaimPolicy;
  if (policy && !supportedReclaimPolicies.includes(policy)) {
    errs.push(fieldError.notSupported('spec.persistentVolumeReclaimPolicy', policy, supportedReclaimPolicies));
  }
  if (spec.storageClassName) {
    for (const m of isDNS1123Subdomain(spec.storageClassName)) errs.push(fieldError.invalid('spec.storageClassName', spec.storageClassName, m));
  }
  if (spec.volumeMode && !supportedVolumeModes.includes(spec.volumeMode)) {
    errs.push(fieldError.notSupported('spec.volumeMode', spec.volumeMode, supportedVolumeModes));
  }
  const rec = spec as unknown as Record<string, unknown>;
  const sources = pvSourceKeys.filter((k) => rec[k] !== undefined && rec[k] !== null);
  if (sources.length === 0) errs.push(fieldError.required('spec', 'must specify a volume type'));
  for (const k of sources.slice(1)) errs.push(fieldError.forbidden(`spec.${k}`, 'may not specify more than 1 volume type'));
  if (spec.hostPath && !spec.hostPath.path) errs.push(fieldError.required('spec.hostPath.path'));
  if (spec.local && !spec.local.path) errs.push(fieldError.required('spec.local.path'));
  if (spec.local && !spec.nodeAffinity) errs.push(fieldError.required('spec.nodeAffinity', 'Local volume requires node affinity'));
  if (spec.nfs) {
    if (!spec.nfs.server) errs.push(fieldError.required('spec.nfs.server'));
    if (!spec.nfs.path) errs.push(fieldError.required('spec.nfs.path'));
  }
  if (spec.csi) {
    if (!spec.csi.driver) errs.push(fieldError.required('spec.csi.driver'));
    if (!spec.csi.volumeHandle) errs.push(fieldError.required('spec.csi.volumeHandle'));
  }
  return errs;
}

function pvSource(pv: PersistentVolume): Record<string, unknown> {
  const rec = (pv.spec ?? {}) as unknown as Record<string, unknown>;
  return Object.fromEntries(pvSourceKeys.filter((k) => rec[k] !== undefined).map((k) => [k, rec[k]]));
}

/** persistentvolumes: the core/v1 PersistentVolume kind. */
export const persistentvolumes = defineResource<PersistentVolume>({
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  subresources: { status: true },
  defaults(pv) {
    if (pv.status && !pv.status.phase) pv.status.phase = 'Pending';
    const spec = (pv.spec ??= {});
    if (!spec.persistentVolumeReclaimPolicy) spec.persistentVolumeReclaimPolicy = 'Retain';
    if (!spec.volumeMode) spec.volumeMode = 'Filesystem';
  },
  validate(pv) {
    return [...validateMeta(pv.metadata, false, nameIsDNSSubdomain), ...validatePVSpec(pv)];
  },
  validateUpdate(pv, old) {
    const errs = validateMetaUpdate(pv.metadata, old.metadata);
    errs.push(...validateImmutableField(pvSource(pv), pvSource(old), 'spec.persistentvolumesource'));
    errs.push(...validateImmutableField(pv.spec?.volumeMode, old.spec?.volumeMode, 'spec.volumeMode'));
    if (old.spec?.nodeAffinity) errs.push(...validateImmutableField(pv.spec?.nodeAffinity, old.spec.nodeAffinity, 'nodeAffinity'));
    return errs;
  },
  strategy: {
    prepareForCreate(pv) {
      writable(pv).status = { phase: 'Pending', lastPhaseTransitionTime: rfc3339Now() };
    },
    prepareForUpdate(pv, old) {
      writable(pv).status = clone(old.status);
    },
    prepareForStatusUpdate(pv, old) {
      pv.spec = clone(old.spec);
      const status = pv.status;
      if (!status) return;
      const oldStatus = old.status ?? {};
      if (status.phase === oldStatus.phase && !status.lastPhaseTransitionTime) {
        status.lastPhaseTransitionTime = oldStatus.lastPhaseTransitionTime;
      } else if (status.phase !== oldStatus.phase &&
        (!status.lastPhaseTransitionTime || status.lastPhaseTransitionTime === oldStatus.lastPhaseTransitionTime)) {
        status.lastPhaseTransitionTime = rfc3339Now();
      }
    },
  },
  columns: [
    { name: 'Capacity', type: 'string', description: "capacity is the description of the persistent volume's resources and capacity.", cell: (pv) => String(pv.spec?.capacity?.['storage'] ?? '0') },
    { name: 'Access Modes', type: 'string', description: 'accessModes contains all ways the volume can be mounted.', cell: (pv) => accessModesString(pv.spec?.accessModes) },
    { name: 'Reclaim Policy', type: 'string', description: 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.', cell: (pv) => pv.spec?.persistentVolumeReclaimPolicy ?? '' },
    { name: 'Status', type: 'string', description: 'phase indicates if a volume is available, bound to a claim, or released by a claim.', cell: (pv) => (pv.metadata?.deletionTimestamp ? 'Terminating' : pv.status?.phase ?? '') },
    { name: 'Claim', type: 'string', description: 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.', cell: (pv) => (pv.spec?.claimRef ? `${pv.spec.claimRef.namespace ?? ''}/${pv.spec.claimRef.name ?? ''}` : '') },
    { name: 'StorageClass', type: 'string', description: 'StorageClass of the pv', cell: (pv) => pv.metadata?.annotations?.[betaStorageClassAnnotation] ?? pv.spec?.storageClassName ?? '' },
    { name: 'VolumeAttributesClass', type: 'string', description: 'VolumeAttributesClass of the pv', cell: (pv) => pv.spec?.volumeAttributesClassName ?? '<unset>' },
    { name: 'Reason', type: 'string', description: 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.', cell: (pv) => pv.status?.reason ?? '' },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (pv, now) => translateTimestampSince(pv.metadata?.creationTimestamp, now) },
    { name: 'VolumeMode', type: 'string', priority: 1, description: 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', cell: (pv) => pv.spec?.volumeMode ?? '<unset>' },
  ],
  examples: [{
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-data' },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data/pv-data' } },
  }],
});
