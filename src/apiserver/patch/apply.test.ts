import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { applyPatch, updateManagedFields as updateRaw } from './apply.ts';
import type { UpdateOptions } from './apply.ts';
import { PatchError } from './errors.ts';
import { FieldSet, applyConflictStatus, decodeManagedFields, encodeManagedFields, fieldManagerFromUserAgent, pathString } from './managed-fields.ts';

type Obj = Record<string, any>;
const gvk = { group: 'apps', version: 'v1', kind: 'Deployment' };
const cmGvk = { group: '', version: 'v1', kind: 'ConfigMap' };

function deploy(spec: Obj = {}, labels: Obj | undefined = { app: 'web' }): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', ...(labels ? { labels } : {}) },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } },
      ...spec,
    },
  };
}

function updateManagedFields(old: Obj | null, next: Obj, opts: UpdateOptions): Obj {
  return updateRaw(old, next, opts) as Obj;
}

function entries(o: Obj): Obj[] {
  return o['metadata']['managedFields'] as Obj[];
}

function apply(live: Obj | null, cfg: Obj, manager: string, extra: { force?: boolean; now?: number } = {}): { object: Obj; conflicts: { manager: string; path: string[] }[] } {
  return applyPatch(live, cfg, { gvk, manager, now: extra.now ?? 1_700_000_000_500, force: extra.force ?? false });
}

describe('applyPatch (server-side apply)', () => {
  it('creates from kubectl apply --server-side\'s JSON body and records FieldsV1 like upstream', () => {
    const body = JSON.stringify(deploy());
    const cfg = parse(body) as Obj; // application/apply-patch+yaml carrying JSON text
    const { object, conflicts } = apply(null, cfg, 'kubectl');
    assert.deepEqual(conflicts, []);
    assert.equal(object['spec']['replicas'], 2);
    assert.deepEqual(entries(object), [{
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: '2023-11-14T22:13:20Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': { 'f:matchLabels': { 'f:app': {} } },
          'f:template': {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
          },
        },
      },
    }]);
    assert.equal(JSON.stringify(entries(object)[0]!['fieldsV1']['f:spec']['f:template']['f:spec']),
      '{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{}}}}');
  });

  it('lets two managers own different fields, and merges their list items by key', () => {
    const a = apply(null, deploy(), 'alice').object;
    const sidecar = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'log', image: 'busybox' }] } } } };
    const b = apply(a, sidecar, 'bob');
    assert.deepEqual(b.conflicts, []);
    assert.deepEqual(b.object['spec']['template']['spec']['containers'].map((c: Obj) => c['name']), ['nginx', 'log']);
    assert.deepEqual(entries(b.object).map((e) => e['manager']), ['alice', 'bob']);
    assert.deepEqual(entries(b.object)[1]!['fieldsV1'], { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"log"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } } });
    // alice stops applying nothing of bob's: bob's container stays, hers is not touched either.
    const again = apply(b.object, deploy(), 'alice');
    assert.deepEqual(again.object['spec']['template']['spec']['containers'].map((c: Obj) => c['name']), ['nginx', 'log']);
  });

  it('reports a conflict for a field another applier owns with a different value, and force takes it', () => {
    const a = apply(null, deploy(), 'alice').object;
    const other = deploy({ replicas: 5 });
    const r = apply(a, other, 'bob');
    assert.deepEqual(r.conflicts.map((c) => [c.manager, pathString(c.path)]), [['{"manager":"alice","operation":"Apply"}', '.spec.replicas']]);
    assert.equal(r.object, a, 'the live object is returned unchanged');
    assert.deepEqual(applyConflictStatus(r.conflicts), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas',
      reason: 'Conflict',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' }] },
      code: 409,
    });
    const forced = apply(a, other, 'bob', { force: true });
    assert.deepEqual(forced.conflicts.length, 1);
    assert.equal(forced.object['spec']['replicas'], 5);
    const alice = decodeManagedFields(forced.object['metadata']['managedFields']).get('{"manager":"alice","operation":"Apply"}');
    assert.equal(alice?.set.has(['f:spec', 'f:replicas']), false, 'alice lost .spec.replicas');
    assert.equal(alice?.set.has(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image']), true);
  });

  it('shares ownership without conflict when the value is the same', () => {
    const a = apply(null, deploy(), 'alice').object;
    const r = apply(a, deploy(), 'bob');
    assert.deepEqual(r.conflicts, []);
    const both = decodeManagedFields(r.object['metadata']['managedFields']);
    for (const id of ['{"manager":"alice","operation":"Apply"}', '{"manager":"bob","operation":"Apply"}']) assert.equal(both.get(id)?.set.has(['f:spec', 'f:replicas']), true, id);
  });

  it('removes fields a manager stops applying unless someone else owns them', () => {
    const withExtra = deploy({}, { app: 'web', tier: 'front' });
    const a = apply(null, withExtra, 'alice').object;
    const dropped = apply(a, deploy(), 'alice').object;
    assert.deepEqual(dropped['metadata']['labels'], { app: 'web' });
    // bob co-owns the label: alice dropping it keeps it.
    const b = apply(a, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { tier: 'front' } } }, 'bob').object;
    const kept = apply(b, deploy(), 'alice').object;
    assert.deepEqual(kept['metadata']['labels'], { app: 'web', tier: 'front' });
    // a container alice stops applying goes away; an Update owner of a field keeps it.
    const two = apply(null, deploy({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'n' }, { name: 'extra', image: 'e' }] } } }), 'alice').object;
    const one = apply(two, deploy(), 'alice').object;
    assert.deepEqual(one['spec']['template']['spec']['containers'], [{ name: 'nginx', image: 'nginx:1.25' }]);
    const noReplicas = deploy();
    delete noReplicas['spec']['replicas'];
    const edited = updateManagedFields(a, { ...a, spec: { ...a['spec'], replicas: 4 } }, { gvk, manager: 'kubectl-edit', now: 0 });
    assert.equal(apply(edited, noReplicas, 'alice').object['spec']['replicas'], 4);
    assert.equal(apply(a, noReplicas, 'alice').object['spec']['replicas'], undefined);
  });

  it('rejects a body with managedFields or of another apiVersion', () => {
    const bad = deploy();
    bad['metadata']['managedFields'] = [];
    assert.throws(() => apply(null, bad, 'm'), (e: unknown) => e instanceof PatchError && e.code === 400 && e.detail === 'metadata.managedFields must be nil');
    assert.throws(() => apply(null, { ...deploy(), apiVersion: 'apps/v2' }, 'm'), (e: unknown) => e instanceof PatchError && e.code === 400 && /Specified patch version: apps\/v2, expected: apps\/v1/.test(e.detail));
    assert.throws(() => apply(null, deploy({ template: { spec: { containers: [{ image: 'x' }] } } }), 'm'), (e: unknown) => e instanceof PatchError && e.code === 422 && /omits key field "name"/.test(e.detail));
  });

  it('groups several conflicts by manager as upstream', () => {
    const s = applyConflictStatus([
      { manager: '{"manager":"b","operation":"Update","apiVersion":"apps/v1"}', path: ['f:spec', 'f:replicas'] },
      { manager: '{"manager":"a","operation":"Apply"}', path: ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image'] },
      { manager: '{"manager":"a","operation":"Apply"}', path: ['f:metadata', 'f:finalizers', 'v:"x"'] },
    ]);
    assert.equal(s.message, 'Apply failed with 3 conflicts: conflicts with "a":\n- .spec.template.spec.containers[name="nginx"].image\n- .metadata.finalizers[="x"]\nconflicts with "b" using apps/v1:\n- .spec.replicas');
    assert.equal(s.details?.causes?.length, 3);
  });
});

describe('updateManagedFields', () => {
  const t0 = Date.parse('2026-01-02T03:04:05.678Z');

  it('records a create by kubectl-client-side-apply with list items and new maps as members', () => {
    const obj = deploy();
    const out = updateManagedFields(null, obj, { gvk, manager: 'kubectl-client-side-apply', operation: 'Update', now: t0 });
    assert.deepEqual(entries(out), [{
      manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', time: '2026-01-02T03:04:05Z', fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': { 'f:matchLabels': { '.': {}, 'f:app': {} } },
          'f:template': {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
          },
        },
      },
    }]);
    assert.equal(obj['metadata']['managedFields'], undefined, 'input untouched');
  });

  it('moves a changed field to the writer and keeps the time of untouched entries', () => {
    const created = updateManagedFields(null, deploy(), { gvk, manager: 'kubectl-create', now: t0 });
    const edited = updateManagedFields(created, { ...created, spec: { ...created['spec'], replicas: 4 } }, { gvk, manager: 'kubectl-edit', now: t0 + 60_000 });
    const m = decodeManagedFields(edited['metadata']['managedFields']);
    const create = m.get('{"manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1"}');
    const edit = m.get('{"manager":"kubectl-edit","operation":"Update","apiVersion":"apps/v1"}');
    assert.equal(create?.set.has(['f:spec', 'f:replicas']), false);
    assert.equal(create?.time, '2026-01-02T03:04:05Z');
    assert.deepEqual(edit?.set.toFieldsV1(), { 'f:spec': { 'f:replicas': {} } });
    assert.equal(edit?.time, '2026-01-02T03:05:05Z');
    // A no-op write adds no entry.
    const same = updateManagedFields(edited, structuredClone(edited), { gvk, manager: 'noop', now: t0 });
    assert.deepEqual(entries(same), entries(edited));
  });

  it('clears managedFields on an explicit empty list, ignores garbage and a missing list', () => {
    const created = updateManagedFields(null, deploy(), { gvk, manager: 'kubectl-create', now: t0 });
    const reset = updateManagedFields(created, { ...created, metadata: { ...created['metadata'], managedFields: [] } }, { gvk, manager: 'm', now: t0 });
    assert.equal(reset['metadata']['managedFields'], undefined);
    const resetOne = updateManagedFields(created, { ...created, metadata: { ...created['metadata'], managedFields: [{}] } }, { gvk, manager: 'm', now: t0 });
    assert.equal(resetOne['metadata']['managedFields'], undefined);
    const garbage = updateManagedFields(created, { ...created, metadata: { ...created['metadata'], managedFields: [{ manager: 'x', operation: 'Nope' }] } }, { gvk, manager: 'm', now: t0 });
    assert.deepEqual(entries(garbage), entries(created));
    const missing = { ...created, metadata: { ...created['metadata'] } };
    delete missing['metadata']['managedFields'];
    assert.deepEqual(entries(updateManagedFields(created, missing, { gvk, manager: 'm', now: t0 })), entries(created));
  });

  it('records subresource writers separately and keeps ownership of what they changed only', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    const created = updateManagedFields(null, cm, { gvk: cmGvk, manager: 'kubectl-create', now: t0 });
    const scaled = updateManagedFields(created, { ...created, data: { a: '1', b: '2' } }, { gvk: cmGvk, manager: 'ctl', subresource: 'status', now: t0 });
    assert.deepEqual(entries(scaled).map((e) => [e['manager'], e['subresource']]), [['kubectl-create', undefined]], 'a status writer owns no data');
  });
});

describe('client-side apply to server-side apply (apimachinery lastAppliedManager, lastAppliedUpdater, skipNonApplied)', () => {
  const LAST = 'kubectl.kubernetes.io/last-applied-configuration';
  const cm = (data: Obj, annotations?: Obj): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mig', namespace: 'default', ...(annotations ? { annotations } : {}) }, data });
  const ssa = (live: Obj | null, cfg: Obj, manager: string, force = false): { object: Obj; conflicts: { manager: string; path: string[] }[] } =>
    applyPatch(live, cfg, { gvk: cmGvk, manager, now: 1_700_000_000_500, force });
  /** What `kubectl apply` (client-side) stores: the object with its annotation, owned by kubectl-client-side-apply. */
  function csaApplied(data: Obj): Obj {
    const annotation = `${JSON.stringify({ apiVersion: 'v1', data, kind: 'ConfigMap', metadata: { annotations: {}, name: 'mig', namespace: 'default' } })}\n`;
    return updateRaw(null, cm(data, { [LAST]: annotation }), { gvk: cmGvk, manager: 'kubectl-client-side-apply', now: 1_700_000_000_000 }) as Obj;
  }

  it('lets kubectl take over fields whose live value is still the last-applied one, without a conflict', () => {
    const live = csaApplied({ a: '1', b: '2' });
    const { object, conflicts } = ssa(live, cm({ a: '5' }), 'kubectl');
    assert.deepEqual(conflicts, []);
    assert.deepEqual(object['data'], { a: '5', b: '2' });
    const owners: Record<string, FieldSet> = Object.fromEntries(entries(object).map((e) => [e['manager'] as string, [...decodeManagedFields([e]).values()][0]!.set]));
    assert.ok(owners['kubectl']!.has(['f:data', 'f:a']));
    assert.ok(!owners['kubectl-client-side-apply']!.has(['f:data', 'f:a']), 'the forced field leaves the client-side manager');
    assert.ok(owners['kubectl-client-side-apply']!.has(['f:data', 'f:b']));
  });

  it('keeps the conflict for another manager, and for a field changed since the last client-side apply', () => {
    const live = csaApplied({ a: '1', b: '2' });
    // Any manager other than `kubectl` gets the ordinary conflict.
    assert.deepEqual(ssa(live, cm({ a: '5' }), 'helm').conflicts.map((c) => `${(JSON.parse(c.manager) as { manager: string }).manager} ${pathString(c.path)}`), ['kubectl-client-side-apply .data.a']);
    // b was edited by someone else after the client-side apply: that conflict stays, a's is allowed.
    const edited = updateRaw(live, { ...live, data: { a: '1', b: '3' } }, { gvk: cmGvk, manager: 'kubectl-edit', now: 1_700_000_000_100 }) as Obj;
    const r = ssa(edited, cm({ a: '5', b: '4' }), 'kubectl');
    assert.deepEqual(r.conflicts.map((c) => `${(JSON.parse(c.manager) as { manager: string }).manager} ${pathString(c.path)}`), ['kubectl-edit .data.b']);
    assert.deepEqual(r.object['data'], { a: '1', b: '3' }, 'a conflict leaves the object as it was');
  });

  it('rewrites an existing last-applied annotation to what kubectl applied, and adds none otherwise', () => {
    const live = csaApplied({ a: '1', b: '2' });
    const { object } = ssa(live, { ...cm({ z: '<&>', a: '1' }), metadata: { name: 'mig', annotations: { note: 'x' } } }, 'kubectl');
    assert.equal(object['metadata']['annotations'][LAST], '{"apiVersion":"v1","data":{"a":"1","z":"\\u003c\\u0026\\u003e"},"kind":"ConfigMap","metadata":{"annotations":{"note":"x"},"name":"mig"}}\n');
    assert.equal(object['metadata']['annotations']['note'], 'x');
    assert.equal(ssa(live, cm({ a: '1' }), 'other').object['metadata']['annotations'][LAST], live['metadata']['annotations'][LAST]);
    const fresh = ssa(null, cm({ a: '1' }), 'kubectl').object;
    assert.equal(fresh['metadata']['annotations'], undefined);
  });

  it('credits the fields of an object without managedFields to before-first-apply at its first apply', () => {
    const live = cm({ a: '1', b: '2' }, { keep: 'me' });
    const { object, conflicts } = ssa(live, cm({ a: '9', c: '3' }), 'tool');
    assert.deepEqual(conflicts.map((c) => `${(JSON.parse(c.manager) as { manager: string }).manager} ${pathString(c.path)}`), ['before-first-apply .data.a']);
    assert.deepEqual(object['data'], { a: '1', b: '2' });
    const forced = ssa(live, cm({ a: '9', c: '3' }), 'tool', true).object;
    assert.deepEqual(forced['data'], { a: '9', b: '2', c: '3' });
    const bfa = entries(forced).find((e) => e.manager === 'before-first-apply')!;
    assert.equal(bfa.operation, 'Update');
    assert.deepEqual(bfa.fieldsV1, { 'f:data': { 'f:b': {} }, 'f:metadata': { 'f:annotations': { '.': {}, 'f:keep': {} } } });
    // An apply that changes nothing of theirs shares ownership and keeps the placeholder entry.
    assert.deepEqual(ssa(live, cm({ a: '1' }), 'tool').conflicts, []);
  });
});

describe('managed fields encoding', () => {
  it('round-trips FieldsV1 and sorts entries as upstream (Apply first, then by time)', () => {
    const fields = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } } } };
    assert.deepEqual(FieldSet.fromFieldsV1(fields).toFieldsV1(), fields);
    const m = decodeManagedFields([
      { manager: 'b', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:02Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } },
      { manager: 'c', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:01Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } },
      { manager: 'z', operation: 'Apply', apiVersion: 'v1', time: '2026-01-01T00:00:09Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } },
    ]);
    assert.deepEqual(encodeManagedFields(m).map((e) => e['manager']), ['z', 'c', 'b']);
    assert.throws(() => decodeManagedFields([{ manager: 'x', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV2' }]), /invalid fieldsType "FieldsV2"/);
  });

  it('derives the field manager from the user agent as upstream', () => {
    assert.equal(fieldManagerFromUserAgent('kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9'), 'kubectl');
    assert.equal(fieldManagerFromUserAgent('node-fetch'), 'node-fetch');
    assert.equal(fieldManagerFromUserAgent('x'.repeat(200)).length, 128);
  });
});
