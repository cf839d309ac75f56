import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { jobs } from './job.ts';

const ctx = { namespace: 'default' };
const j = (o: StoredObject) => o as unknown as Job;
function created(): StoredObject {
  const o = structuredClone(jobs.examples[0]) as StoredObject;
  o.metadata.uid = '11111111-2222-3333-4444-555555555555';
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  jobs.defaults!(o);
  jobs.strategy!.prepareForCreate!(o);
  return o;
}

test('defaults: completions/parallelism 1, backoffLimit 6, NonIndexed, suspend false, podReplacementPolicy, manualSelector', () => {
  const o = structuredClone(jobs.examples[0]) as StoredObject;
  jobs.defaults!(o);
  const s = j(o).spec!;
  assert.deepEqual(
    [s.completions, s.parallelism, s.backoffLimit, s.completionMode, s.suspend, s.podReplacementPolicy, s.manualSelector],
    [1, 1, 6, 'NonIndexed', false, 'TerminatingOrFailed', false],
  );
  const w = structuredClone(jobs.examples[0]) as StoredObject;
  j(w).spec!.parallelism = 3;
  jobs.defaults!(w);
  assert.equal(j(w).spec!.completions, undefined);
});

test('create generates selector and the four template labels, then validates', () => {
  const o = created();
  const uid = o.metadata.uid!;
  assert.deepEqual(j(o).spec!.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
  assert.deepEqual(j(o).spec!.template.metadata!.labels, {
    'job-name': 'pi', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': uid, 'batch.kubernetes.io/controller-uid': uid,
  });
  assert.deepEqual(o.status, {});
  assert.equal(o.metadata.generation, 1);
  assert.deepEqual(jobs.validate!(o, ctx), []);
});

test('manualSelector true skips generation; then the selector must match', () => {
  const o = structuredClone(jobs.examples[0]) as StoredObject;
  o.metadata.uid = 'u';
  j(o).spec!.manualSelector = true;
  j(o).spec!.selector = { matchLabels: { mine: 'yes' } };
  jobs.defaults!(o);
  jobs.strategy!.prepareForCreate!(o);
  assert.equal(j(o).spec!.template.metadata?.labels, undefined);
  const e = jobs.validate!(o, ctx).find((x) => x.field === 'spec.template.metadata.labels');
  assert.equal(e?.detail, '`selector` does not match template `labels`');
});

test('validate: conflicting generated label, restartPolicy Always is Required', () => {
  const o = structuredClone(jobs.examples[0]) as StoredObject;
  o.metadata.uid = 'u1';
  j(o).spec!.template.metadata = { labels: { 'controller-uid': 'other' } };
  j(o).spec!.template.spec!.restartPolicy = 'Always';
  jobs.defaults!(o);
  jobs.strategy!.prepareForCreate!(o);
  const errs = jobs.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'spec.template.metadata.labels[controller-uid]')?.detail, "must be 'u1'");
  const rp = errs.find((e) => e.field === 'spec.template.spec.restartPolicy');
  assert.deepEqual([rp?.type, rp?.detail], ['FieldValueRequired', 'valid values: "OnFailure", "Never"']);
});

test('validate: Indexed needs completions; bad completionMode NotSupported; negative backoffLimit', () => {
  const o = created();
  j(o).spec!.completionMode = 'Indexed';
  delete j(o).spec!.completions;
  j(o).spec!.backoffLimit = -1;
  const errs = jobs.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'spec.completions')?.detail, 'when completion mode is Indexed');
  assert.equal(errs.find((e) => e.field === 'spec.backoffLimit')?.type, 'FieldValueInvalid');
  const m = created();
  j(m).spec!.completionMode = 'Sometimes';
  assert.equal(jobs.validate!(m, ctx).find((e) => e.field === 'spec.completionMode')?.type, 'FieldValueNotSupported');
});

test('validateUpdate: template and completions are immutable', () => {
  const old = created();
  old.metadata.resourceVersion = '5';
  const n = structuredClone(old);
  j(n).spec!.template.spec!.containers[0]!.image = 'perl:5.36';
  j(n).spec!.completions = 2;
  const errs = jobs.validateUpdate!(n, old, ctx);
  assert.equal(errs.find((e) => e.field === 'spec.template')?.detail, 'field is immutable');
  assert.equal(errs.find((e) => e.field === 'spec.completions')?.detail, 'field is immutable');
  const ok = structuredClone(old);
  j(ok).spec!.suspend = true;
  assert.deepEqual(jobs.validateUpdate!(ok, old, ctx), []);
});

test('strategy: update keeps status and bumps generation; status update keeps spec', () => {
  const old = created();
  (old as { status?: unknown }).status = { active: 1 };
  const n = structuredClone(old);
  (n as { status?: unknown }).status = {};
  j(n).spec!.suspend = true;
  jobs.strategy!.prepareForUpdate!(n, old);
  assert.deepEqual(n.status, { active: 1 });
  assert.equal(n.metadata.generation, 2);
  const st = structuredClone(old);
  j(st).spec!.parallelism = 9;
  jobs.strategy!.prepareForStatusUpdate!(st, old);
  assert.equal(j(st).spec!.parallelism, 1);
});

test('columns: status, completions, duration, age, wide', () => {
  const now = Date.parse('2024-01-01T00:10:00Z');
  const o = created();
  const cells = () => Object.fromEntries(jobs.columns.map((c) => [c.name, c.cell(o, now)]));
  assert.deepEqual([cells().Status, cells().Completions, cells().Duration, cells().Age], ['Running', '0/1', '', '10m']);
  (o as { status?: unknown }).status = {
    succeeded: 1, startTime: '2024-01-01T00:00:00Z', completionTime: '2024-01-01T00:00:45Z',
    conditions: [{ type: 'Complete', status: 'True' }],
  };
  assert.deepEqual([cells().Status, cells().Completions, cells().Duration], ['Complete', '1/1', '45s']);
  assert.equal(cells().Containers, 'pi');
  assert.equal(cells().Selector, `batch.kubernetes.io/controller-uid=${o.metadata.uid!}`);
  delete j(o).spec!.completions;
  j(o).spec!.parallelism = 3;
  (o as { status?: unknown }).status = { conditions: [{ type: 'Suspended', status: 'True' }], startTime: '2024-01-01T00:09:00Z' };
  assert.deepEqual([cells().Status, cells().Completions, cells().Duration], ['Suspended', '0/1 of 3', '60s']);
  o.metadata.deletionTimestamp = '2024-01-01T00:09:30Z';
  assert.equal(cells().Status, 'Terminating');
  assert.equal(jobs.fieldSelectors!['status.successful']!(o), '0');
});
