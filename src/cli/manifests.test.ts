import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeManifest } from './manifests.ts';
import { CliError } from './errors.ts';

describe('decodeManifest', () => {
  it('splits multi-document YAML, skips empty documents and flattens Lists', () => {
    const text = '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n- {apiVersion: v1, kind: ConfigMapList, items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}]}\n';
    const objs = decodeManifest(text, 'f.yaml');
    assert.deepEqual(objs.map((o) => `${o.obj.kind}/${o.obj.metadata?.name}`), ['ConfigMap/a', 'Secret/b', 'ConfigMap/c']);
    assert.ok(objs.every((o) => o.source === 'f.yaml'));
  });

  it('reads JSON, and YAML 1.1 booleans as sigs.k8s.io/yaml does', () => {
    const [o] = decodeManifest('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: j}\nflag: yes\n', 'j.yaml');
    assert.equal(o!.obj['flag'], true);
    assert.equal(decodeManifest('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}', 'j.json')[0]!.obj.metadata?.name, 'j');
  });

  it('names the source and line of a syntax error', () => {
    assert.throws(() => decodeManifest('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n bad: [\n', 'bad.yaml'), (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.match(e.message, /^error parsing bad\.yaml: error converting YAML to JSON: yaml: line \d+: /);
      return true;
    });
  });

  it('requires kind and apiVersion as kubectl does', () => {
    assert.throws(() => decodeManifest('apiVersion: v1\nmetadata: {name: x}\n', 'STDIN'), /unable to decode "STDIN": Object 'Kind' is missing in/);
    assert.throws(() => decodeManifest('kind: Pod\n', 'STDIN'), /Object 'apiVersion' is missing/);
  });
});
