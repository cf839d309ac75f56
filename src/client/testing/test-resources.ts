/**
 * Minimal ResourceDefinitions for the client library's own tests, so that they do not depend on the catalog
 * (which the API layer owns). Only the fields the client reads matter here.
 */
import type { ResourceDefinition } from '../../api/resource.ts';
import { defineResource } from '../../api/resource.ts';

function def(group: string, version: string, kind: string, plural: string, namespaced: boolean): ResourceDefinition {
  return defineResource({
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    columns: [],
    examples: [{ apiVersion: group ? `${group}/${version}` : version, kind, metadata: { name: 'example' } }],
  });
}

/** core/v1 pods (namespaced). */
export const testPods = def('', 'v1', 'Pod', 'pods', true);
/** core/v1 configmaps (namespaced). */
export const testConfigMaps = def('', 'v1', 'ConfigMap', 'configmaps', true);
/** core/v1 nodes (cluster-scoped). */
export const testNodes = def('', 'v1', 'Node', 'nodes', false);
/** core/v1 events (namespaced). */
export const testEvents = def('', 'v1', 'Event', 'events', true);
/** apps/v1 deployments (namespaced). */
export const testDeployments = def('apps', 'v1', 'Deployment', 'deployments', true);
/** coordination.k8s.io/v1 leases (namespaced). */
export const testLeases = def('coordination.k8s.io', 'v1', 'Lease', 'leases', true);

/** Every test resource, for FakeApiServer. */
export const testResources = [testPods, testConfigMaps, testNodes, testEvents, testDeployments, testLeases];
