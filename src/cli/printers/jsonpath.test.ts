import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executeJsonPath, parseJsonPath, relaxedJsonPath } from './jsonpath.ts';
import { printCustomColumns } from './objects.ts';

const list = {
  kind: 'List',
  items: [
    { metadata: { name: 'a', labels: { app: 'web' } }, spec: { containers: [{ image: 'nginx' }, { image: 'redis' }] }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    { metadata: { name: 'b' }, spec: { containers: [{ image: 'busybox' }] }, status: { conditions: [{ type: 'Ready', status: 'False' }] } },
  ],
};
const run = (t: string): string => executeJsonPath(parseJsonPath(t), list);

describe('jsonpath templates', () => {
  it('selects fields, wildcards, indexes and slices', () => {
    assert.equal(run('{.items[*].metadata.name}'), 'a b');
    assert.equal(run('{.items[0].spec.containers[*].image}'), 'nginx redis');
    assert.equal(run('{.items[-1].metadata.name}'), 'b');
    assert.equal(run('{.items[0:1].metadata.name}'), 'a');
    assert.equal(run("{.items[0].metadata.labels['app']}"), 'web');
  });

  it('ranges, literals, filters and recursive descent', () => {
    assert.equal(run('{range .items[*]}{.metadata.name}{"\\t"}{end}'), 'a\tb\t');
    assert.equal(run('{range.items[*]}[{.metadata.name}]{end}'), '[a][b]');
    assert.equal(run('{.items[?(@.status.conditions[0].status=="True")].metadata.name}'), 'a');
    assert.equal(run('{..image}'), 'nginx redis busybox');
    assert.equal(run('{.items[0].metadata.labels}'), '{"app":"web"}');
  });

  it('prints nothing for missing keys (kubectl allows them by default)', () => {
    assert.equal(run('{.items[*].nope}'), '');
    assert.throws(() => executeJsonPath(parseJsonPath('{.nope}'), list, { allowMissing: false }), /nope is not found/);
  });

  it('relaxes custom-columns paths and prints <none> for missing values', () => {
    assert.equal(relaxedJsonPath('metadata.name'), '{.metadata.name}');
    assert.equal(relaxedJsonPath('{.a}'), '{.a}');
    assert.equal(printCustomColumns('custom-columns=N:.metadata.name,IMG:.spec.containers[*].image,APP:.metadata.labels.app', list.items), 'N     IMG           APP\na     nginx,redis   web\nb     busybox       <none>\n');
  });
});
