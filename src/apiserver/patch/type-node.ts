/**
 * The compiled OpenAPI schema view moved to src/api/openapi/type-node.ts so that the CLI's client-side apply
 * (three-way strategic merge) shares it with the server's patch engines; re-exported here for the engines.
 */
export * from '../../api/openapi/type-node.ts';
