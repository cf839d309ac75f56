/** The registry of every protobuf message the decoder knows, built once from the schema tables. */
import { buildRegistry, type MessageSpec } from './schema.ts';
import { apimachinery } from './schema-meta.ts';
import { coreV1 } from './schema-core.ts';
import { groups } from './schema-groups.ts';

/** All messages by name; building it checks that every referenced type exists. */
export const MESSAGES: ReadonlyMap<string, MessageSpec> = buildRegistry(apimachinery, coreV1, groups);
