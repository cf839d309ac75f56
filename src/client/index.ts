/**
 * The client library's public surface: what controllers, the scheduler, the node agent and the CLI import.
 * (The in-memory FakeApiServer under ./testing/ is for tests only and is not re-exported.)
 */
export * from './api-error.ts';
export * from './event-recorder.ts';
export * from './indexer.ts';
export * from './informer.ts';
export * from './kubeconfig.ts';
export * from './leader-election.ts';
export * from './lister.ts';
export type * from './object.ts';
export * from './rate-limiter.ts';
export * from './resource-client.ts';
export { RestClient } from './rest-client.ts';
export type { Query, RequestOptions, RestClientOptions, RestResponse, RestStream } from './rest-client.ts';
export * from './work-queue.ts';
