import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/meta/types.ts';
import { Indexer, isTombstone, objectKey, splitKey } from './indexer.ts';
import { Lister } from './lister.ts';

interface PodLike extends KubeObject {
  spec?: { nodeName?: string };
}

function pod(ns: string, name: string, opts: { node?: string; labels?: Record<string, string> } = {}): PodLike {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name, labels: opts.labels ?? {} }, spec: opts.node ? { nodeName: opts.node } : {} };
}

const byNode = (p: PodLike): string[] => (p.spec?.nodeName ? [p.spec.nodeName] : []);

test('keys are namespace/name, or name for cluster-scoped objects', () => {
  assert.equal(objectKey(pod('ns1', 'a')), 'ns1/a');
  assert.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
  assert.deepEqual(splitKey('ns1/a'), { namespace: 'ns1', name: 'a' });
  assert.deepEqual(splitKey('node-1'), { namespace: '', name: 'node-1' });
  assert.equal(isTombstone({ key: 'k', obj: pod('a', 'b'), deletedFinalStateUnknown: true }), true);
  assert.equal(isTombstone(pod('a', 'b')), false);
});

test('custom indexes follow adds, updates and deletes', () => {
  const idx = new Indexer<PodLike>({ indexers: { nodeName: byNode } });
  idx.add(pod('ns1', 'a', { node: 'n1' }));
  idx.add(pod('ns1', 'b', { node: 'n1' }));
  idx.add(pod('ns2', 'c', { node: 'n2' }));
  idx.add(pod('ns2', 'pending'));
  assert.deepEqual(idx.indexKeys('nodeName', 'n1').sort(), ['ns1/a', 'ns1/b']);
  idx.update(pod('ns1', 'b', { node: 'n2' }));
  assert.deepEqual(idx.indexKeys('nodeName', 'n1'), ['ns1/a']);
  assert.deepEqual(idx.byIndex('nodeName', 'n2').map(objectKey).sort(), ['ns1/b', 'ns2/c']);
  idx.delete(pod('ns2', 'c'));
  assert.deepEqual(idx.indexKeys('nodeName', 'n2'), ['ns1/b']);
  assert.equal(idx.size(), 3);
  assert.deepEqual(idx.index('nodeName', pod('x', 'y', { node: 'n1' })).map(objectKey), ['ns1/a']);
  assert.throws(() => idx.byIndex('nope', 'x'), /index with name nope does not exist/);
});

test('replace swaps the contents and rebuilds indexes; addIndexers indexes existing objects', () => {
  const idx = new Indexer<PodLike>();
  idx.add(pod('ns1', 'old', { node: 'n1' }));
  idx.replace([pod('ns1', 'a', { node: 'n1' }), pod('ns2', 'b', { node: 'n2' })]);
  assert.deepEqual(idx.listKeys().sort(), ['ns1/a', 'ns2/b']);
  idx.addIndexers({ nodeName: byNode });
  assert.deepEqual(idx.indexKeys('nodeName', 'n2'), ['ns2/b']);
  assert.throws(() => idx.addIndexers({ nodeName: byNode }), /indexer conflict/);
  assert.deepEqual(idx.indexKeys('namespace', 'ns1'), ['ns1/a']);
});

test('lister lists by namespace, by predicate and gets by name', () => {
  const idx = new Indexer<PodLike>();
  idx.add(pod('ns1', 'a', { labels: { app: 'web' } }));
  idx.add(pod('ns1', 'b', { labels: { app: 'db' } }));
  idx.add(pod('ns2', 'c', { labels: { app: 'web' } }));
  const l = new Lister(idx);
  assert.deepEqual(l.list('ns1').map(objectKey).sort(), ['ns1/a', 'ns1/b']);
  assert.equal(l.list().length, 3);
  assert.equal(l.list('').length, 3);
  assert.deepEqual(l.list(undefined, (p) => p.metadata?.labels?.['app'] === 'web').map(objectKey).sort(), ['ns1/a', 'ns2/c']);
  assert.equal(l.get('ns2', 'c')?.metadata?.name, 'c');
  assert.equal(l.get('ns1', 'c'), undefined);
  assert.deepEqual(l.list('nope'), []);
});

test('lister filters with label selectors (parsed or string)', () => {
  const idx = new Indexer<PodLike>();
  idx.add(pod('ns1', 'a', { labels: { app: 'web', tier: 'fe' } }));
  idx.add(pod('ns1', 'b', { labels: { app: 'db' } }));
  idx.add(pod('ns2', 'c', { labels: { app: 'web' } }));
  const l = new Lister(idx);
  assert.deepEqual(l.list('ns1', [{ key: 'app', operator: 'Equals', values: ['web'] }]).map(objectKey), ['ns1/a']);
  assert.deepEqual(l.list(undefined, 'app=web,!tier').map(objectKey), ['ns2/c']);
  assert.deepEqual(l.list(undefined, '').length, 3);
});
