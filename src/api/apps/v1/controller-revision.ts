/** apps/v1 ControllerRevision: immutable snapshots of a controller's template. */
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  nameIsDNSSubdomain, validateImmutableField, validateNonnegative, validateObjectMeta, validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { creationTimestampDoc } from './workload.ts';

/** ValidateControllerRevision: data is mandatory, revision non-negative. */
export function validateControllerRevision(cr: ControllerRevision): FieldError[] {
  const errs = validateObjectMeta(cr.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' });
  if (cr.data === undefined || cr.data === null) errs.push(fieldError.required('data', 'data is mandatory'));
  errs.push(...validateNonnegative(cr.revision, 'revision'));
  return errs;
}

/** printControllerRevision's CONTROLLER cell: "<kind>.<group>/<name>" of the controller owner, lower-cased kind. */
export function controllerCell(cr: ControllerRevision): string {
  const ref = (cr.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref) return '<none>';
  const slash = ref.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : ref.apiVersion.slice(0, slash);
  const groupKind = group === '' ? ref.kind : `${ref.kind}.${group}`;
  if (groupKind === '') return ref.name;
  return `${groupKind.toLowerCase()}/${ref.name}`;
}

/** The apps/v1 ControllerRevision kind. */
export const controllerRevisions = defineResource<ControllerRevision>({
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  validate: (cr) => validateControllerRevision(cr),
  validateUpdate: (cr, old) => [
    ...validateObjectMetaUpdate(cr.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
    ...validateImmutableField(cr.data, old.data, 'data'),
  ],
  strategy: {},
  columns: [
    { name: 'Controller', type: 'string', description: 'Controller of the object', cell: controllerCell },
    { name: 'Revision', type: 'string', description: 'Revision indicates the revision of the state represented by Data.', cell: (cr) => cr.revision },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (cr, now) => translateTimestampSince(cr.metadata?.creationTimestamp, now) },
  ],
  examples: [
    {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: 'db-7c9d8f', namespace: 'default' },
      data: { spec: { template: { metadata: { labels: { app: 'db' } } } } },
      revision: 1,
    },
  ],
});
