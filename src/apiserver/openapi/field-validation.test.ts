import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findFieldProblems, findUnknownFields, parseFieldValidation, strictDecodingMessage } from './field-validation.ts';

const POD = { group: '', version: 'v1', kind: 'Pod' };
const DEPLOYMENT = { group: 'apps', version: 'v1', kind: 'Deployment' };

function pod(spec: string, metadata = '{"name":"p"}'): string {
  return `{"apiVersion":"v1","kind":"Pod","metadata":${metadata},"spec":${spec}}`;
}

describe('findFieldProblems (JSON)', () => {
  it('finds nothing in a valid object', () => {
    const body = pod('{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}],"resources":{"limits":{"cpu":"1"}}}],"nodeSelector":{"disk":"ssd"}}', '{"name":"p","labels":{"a":"b"},"annotations":{"x":"y"}}');
    assert.deepEqual(findFieldProblems(body, POD), []);
    assert.deepEqual(findFieldProblems(new TextEncoder().encode(body), POD), []);
  });

  it('reports unknown fields with their full path, in lists by index', () => {
    const body = pod('{"foo":1,"containers":[{"name":"a","image":"i"},{"name":"b","image":"i","bogus":true,"ports":[{"containerPort":1,"nope":{"deep":1}}]}]}');
    assert.deepEqual(findFieldProblems(body, POD), [
      'unknown field "spec.foo"',
      'unknown field "spec.containers[1].bogus"',
      'unknown field "spec.containers[1].ports[0].nope"',
    ]);
  });

  it('reports unknown top-level fields without a prefix', () => {
    assert.deepEqual(findFieldProblems('{"apiVersion":"v1","kind":"Pod","spec2":{}}', POD), ['unknown field "spec2"']);
  });

  it('finds duplicates in big maps too', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `"k${i}":"v"`);
    const body = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{${[...keys, '"k5":"again"', '"k39":"again"'].join(',')}}}`;
    assert.deepEqual(findFieldProblems(body, { group: '', version: 'v1', kind: 'ConfigMap' }), ['duplicate field "data.k5"', 'duplicate field "data.k39"']);
  });

  it('reports duplicates in structs and maps, in document order with unknowns', () => {
    const body = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","labels":{"x":"1","x":"2"},"name":"b","zzz":0},"spec":{"containers":[],"containers":[]}}';
    assert.deepEqual(findFieldProblems(body, POD), [
      'duplicate field "metadata.labels.x"',
      'duplicate field "metadata.name"',
      'unknown field "metadata.zzz"',
      'duplicate field "spec.containers"',
    ]);
  });

  it('reports each distinct problem once and an unknown field repeated only as unknown', () => {
    const body = pod('{"containers":[{"name":"a","x":1},{"name":"b","x":1}],"foo":1,"foo":2}');
    assert.deepEqual(findFieldProblems(body, POD), ['unknown field "spec.containers[0].x"', 'unknown field "spec.containers[1].x"', 'unknown field "spec.foo"']);
  });

  it('does not look inside maps values, quantities, int-or-strings or raw extensions', () => {
    const deploy = '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","annotations":{"anything":"goes"}},"spec":{"selector":{"matchLabels":{"a":"b"}},"strategy":{"rollingUpdate":{"maxSurge":"25%"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i","resources":{"requests":{"memory":"1Gi"}},"livenessProbe":{"httpGet":{"port":"http"}}}]}}}}';
    assert.deepEqual(findFieldProblems(deploy, DEPLOYMENT), []);
    const rev = '{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"r"},"revision":1,"data":{"spec":{"whatever":{"x":1}}}}';
    assert.deepEqual(findFieldProblems(rev, { group: 'apps', version: 'v1', kind: 'ControllerRevision' }), []);
    const managed = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"m","fieldsV1":{"f:spec":{}},"bad":1}]}}';
    assert.deepEqual(findFieldProblems(managed, POD), ['unknown field "metadata.managedFields[0].bad"']);
  });

  it('finds unknown fields nested under map values of struct type', () => {
    const body = '{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"x"},"status":{"disruptedPods":{"p":"2024-01-01T00:00:00Z"},"conditions":[{"type":"A","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","reason":"r","message":"m","extra":1}]}}';
    assert.deepEqual(findFieldProblems(body, { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' }), ['unknown field "status.conditions[0].extra"']);
  });

  it('handles escaped keys, nested arrays and odd whitespace', () => {
    const body = ' {\n "apiVersion" : "v1", "kind":"Pod", "metadata": {"annotations": {"a\\"b": "1", "a\\"b": "2"}}, "spec": {"containers": [ {"name":"c", "command": [["x"], "y"], "na\\u006de": "dup"} ]}}\n';
    assert.deepEqual(findFieldProblems(body, POD), ['duplicate field "metadata.annotations.a\\"b"', 'duplicate field "spec.containers[0].name"']);
  });

  it('checks only duplicates for kinds without a schema and ignores bodies that do not parse', () => {
    assert.deepEqual(findFieldProblems('{"a":{"b":1,"b":2},"c":[{"d":1,"d":1}]}', { group: 'example.com', version: 'v1', kind: 'Widget' }), ['duplicate field "a.b"', 'duplicate field "c[0].d"']);
    assert.deepEqual(findFieldProblems('{"apiVersion":"v1","kind":"Pod","spec":{"foo":1', POD), []);
    assert.deepEqual(findFieldProblems('{"apiVersion":"v1"} trailing', POD), []);
  });

  it('stops at 100 problems as upstream does', () => {
    const fields = Array.from({ length: 150 }, (_, i) => `"f${i}":1`).join(',');
    const problems = findFieldProblems(`{"apiVersion":"v1","kind":"Pod",${fields}}`, POD);
    assert.equal(problems.length, 100);
    assert.equal(problems[99], 'unknown field "f99"');
  });
});

describe('findUnknownFields (an object in memory)', () => {
  it('gives what findFieldProblems gives for the object as JSON text', () => {
    const objects: [object, typeof POD][] = [
      [JSON.parse(pod('{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}],"resources":{"limits":{"cpu":"1"}}}],"nodeSelector":{"disk":"ssd"}}', '{"name":"p","labels":{"a":"b"}}')) as object, POD],
      [JSON.parse(pod('{"foo":1,"containers":[{"name":"a","image":"i"},{"name":"b","image":"i","bogus":true,"ports":[{"containerPort":1,"nope":{"deep":1}}]}]}')) as object, POD],
      [{ apiVersion: 'v1', kind: 'Pod', spec2: {}, metadata: { name: 'p', managedFields: [{ fieldsV1: { 'f:x': {} }, junk: 1 }], creationTimestamp: { odd: 1 } } }, POD],
      [{ apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: { containers: [{ name: 'c', envv: [] }] }, metadata: { labelz: {} } }, strategy: { rollingUpdate: { maxSurge: { weird: 1 } } } } }, DEPLOYMENT],
      [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { free: 'x' } }, spec: { containers: [], unknownUndefined: undefined } }, POD],
    ];
    for (const [obj, gvk] of objects) assert.deepEqual(findUnknownFields(obj, gvk), findFieldProblems(JSON.stringify(obj), gvk), JSON.stringify(obj));
    assert.deepEqual(findUnknownFields(objects[3]![0], DEPLOYMENT), ['unknown field "spec.template.spec.containers[0].envv"', 'unknown field "spec.template.metadata.labelz"']);
  });
});

describe('findFieldProblems (YAML)', () => {
  it('reports duplicate keys like go-yaml, then unknown fields', () => {
    const yaml = ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: a', '  name: b', 'spec:', '  containers:', '  - name: c', '    image: i', '    foo: 1', ''].join('\n');
    assert.deepEqual(findFieldProblems(yaml, POD), [
      'error converting YAML to JSON: yaml: unmarshal errors:\n  line 5: key "name" already set in map',
      'unknown field "spec.containers[0].foo"',
    ]);
  });

  it('lists every duplicate key in one error, nested ones first, at the value line', () => {
    const yaml = ['apiVersion: v1', 'kind: Pod', 'metadata:', '  labels:', '    a: "1"', '    a: "2"', '  labels:', '    b: "3"', 'spec: {}', ''].join('\n');
    assert.deepEqual(findFieldProblems(yaml, POD), ['error converting YAML to JSON: yaml: unmarshal errors:\n  line 6: key "a" already set in map\n  line 8: key "labels" already set in map']);
  });

  it('accepts a valid manifest and can be told the format', () => {
    const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n';
    assert.deepEqual(findFieldProblems(yaml, DEPLOYMENT), []);
    assert.deepEqual(findFieldProblems('{"apiVersion": "v1", "kind": "Pod", "x": 1}', POD, { format: 'yaml' }), ['unknown field "x"']);
  });
});

describe('helpers', () => {
  it('formats the strict decoding error', () => {
    assert.equal(strictDecodingMessage(['unknown field "spec.foo"', 'duplicate field "x"']), 'strict decoding error: unknown field "spec.foo", duplicate field "x"');
  });

  it('parses fieldValidation with Warn as the default', () => {
    assert.equal(parseFieldValidation('Strict'), 'Strict');
    assert.equal(parseFieldValidation('Ignore'), 'Ignore');
    assert.equal(parseFieldValidation(undefined), 'Warn');
    assert.equal(parseFieldValidation(''), 'Warn');
    assert.equal(parseFieldValidation('strict'), undefined);
  });
});
