import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { ResourceClient } from '../../client/index.ts';
import { ApiError } from '../../client/index.ts';
import { createRevision, equalRevision, hashRevisionData, newControllerRevision, nextRevision, sortRevisions, templateOf, templatePatch } from './controller-history.ts';

const owner = { metadata: { name: 'web', namespace: 'ns', uid: 'u1' } };
const gvk = { apiVersion: 'apps/v1', kind: 'StatefulSet' };
const tpl = (image: string): Parameters<typeof templatePatch>[0] => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } });

describe('controller history', () => {
  it('revisions carry the template as a replace patch, named and labelled by their hash', () => {
    const r = newControllerRevision(owner, { gvk, labels: { app: 'web' }, data: templatePatch(tpl('v1')), revision: 1, collisionCount: 0 });
    const hash = r.metadata?.labels?.['controller-revision-hash'];
    assert.match(hash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(r.metadata?.name, `web-${hash}`);
    assert.deepEqual(templateOf(r), tpl('v1'));
    assert.equal((r.data as { spec: { template: { $patch: string } } }).spec.template.$patch, 'replace');
    assert.notEqual(hashRevisionData(r.data, 1), hash, 'the collision count changes the hash');
    const same = newControllerRevision(owner, { gvk, labels: {}, data: templatePatch(tpl('v1')), revision: 7, collisionCount: 0 });
    assert.equal(equalRevision(r, same), true);
    assert.equal(equalRevision(r, newControllerRevision(owner, { gvk, labels: {}, data: templatePatch(tpl('v2')), revision: 2, collisionCount: 0 })), false);
  });
  it('sorts by revision and numbers the next one', () => {
    const mk = (n: number): ControllerRevision => ({ metadata: { name: `r${n}` }, revision: n });
    assert.deepEqual(sortRevisions([mk(3), mk(1), mk(2)]).map((r) => r.revision), [1, 2, 3]);
    assert.equal(nextRevision([mk(3), mk(1)]), 4);
    assert.equal(nextRevision([]), 1);
  });
  it('a name taken by different data bumps the collision count', async () => {
    const store = new Map<string, ControllerRevision>();
    const client = {
      create: async (r: ControllerRevision) => {
        if (store.has(r.metadata!.name!)) throw new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'AlreadyExists', code: 409, message: 'exists' });
        store.set(r.metadata!.name!, r);
        return r;
      },
      get: async (name: string) => store.get(name)!,
    } as unknown as ResourceClient<ControllerRevision>;
    const want = newControllerRevision(owner, { gvk, labels: {}, data: templatePatch(tpl('v1')), revision: 1, collisionCount: 0 });
    // Someone else's revision squats the name with other data.
    store.set(want.metadata!.name!, { ...want, data: templatePatch(tpl('other')) as ControllerRevision['data'] });
    const r = await createRevision(client, want, 0);
    assert.equal(r.collisionCount, 1);
    assert.notEqual(r.revision.metadata?.name, want.metadata?.name);
    // The same data again finds the existing revision.
    const again = await createRevision(client, want, 1);
    assert.equal(again.revision.metadata?.name, r.revision.metadata?.name);
  });
});
