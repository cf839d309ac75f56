/**
 * Server-side Table output (meta.k8s.io Table) built from a kind's column definitions, with
 * PartialObjectMetadata rows (upstream's TableConvertor plus handlers/response.go asTable).
 */
import type { ResourceDefinition, TableColumn } from '../api/resource.ts';
import type { StoredObject } from '../api/meta/types.ts';
import { badRequest } from './errors.ts';

const NAME_COLUMN: TableColumn = {
  name: 'Name', type: 'string', format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  cell: (o) => o.metadata.name ?? '',
};

const CREATED_AT_COLUMN: TableColumn = {
  name: 'Created At', type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  cell: (o) => o.metadata.creationTimestamp ?? null,
};

/** What rows embed: upstream includeObject (default Metadata). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Parses the includeObject query parameter (400 on anything else). */
export function parseIncludeObject(v: string | null): IncludeObject {
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`);
}

function columnsOf(def: ResourceDefinition): TableColumn[] {
  if (def.ownNameColumn) return def.columns;
  return def.columns.length > 0 ? [NAME_COLUMN, ...def.columns] : [NAME_COLUMN, CREATED_AT_COLUMN];
}

/** The column definitions of a kind's Table. */
export function columnDefinitions(def: ResourceDefinition): object[] {
  return columnsOf(def).map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 }));
}

/** One Table row for an object. */
export function tableRow(def: ResourceDefinition, obj: StoredObject, opts: { now: number; include: IncludeObject; apiVersion: string }): object {
  const cells = columnsOf(def).map((c) => {
    try {
      const v = c.cell(obj, opts.now);
      return v ?? null;
    } catch {
      return '<unknown>';
    }
  });
  const row: Record<string, unknown> = { cells };
  if (opts.include === 'Metadata') {
    row.object = { kind: 'PartialObjectMetadata', apiVersion: opts.apiVersion, metadata: obj.metadata };
  } else if (opts.include === 'Object') {
    row.object = obj;
  }
  return row;
}

/** A Table for a list of objects (or one object). */
export function buildTable(def: ResourceDefinition, objs: StoredObject[], opts: {
  now: number; include: IncludeObject; version: 'v1' | 'v1beta1'; resourceVersion?: string; continue?: string;
  remainingItemCount?: number; noHeaders?: boolean;
}): object {
  const apiVersion = `meta.k8s.io/${opts.version}`;
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  const table: Record<string, unknown> = { kind: 'Table', apiVersion, metadata };
  table.columnDefinitions = opts.noHeaders ? null : columnDefinitions(def);
  table.rows = objs.map((o) => tableRow(def, o, { now: opts.now, include: opts.include, apiVersion }));
  return table;
}
