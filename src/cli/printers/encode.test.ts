import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goJson, goYaml, goYamlKeyLess } from './encode.ts';
import { tabwrite } from './tabwriter.ts';

describe('goYaml (go-yaml v2 as kubectl prints)', () => {
  it('sorts keys, does not indent sequences and quotes like YAML 1.1', () => {
    const text = goYaml({
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }], empty: [], none: {} },
      metadata: { namespace: 'y', ts: '2026-01-01T00:00:00Z', on: 'yes', n: '123', star: '*', colon: 'a: b', e: '', nul: null },
      apiVersion: 'v1',
    });
    assert.equal(
      text,
      [
        'apiVersion: v1',
        'metadata:',
        "  colon: 'a: b'",
        '  e: ""',
        '  "n": "123"',
        '  namespace: "y"',
        '  nul: null',
        '  "on": "yes"',
        "  star: '*'",
        '  ts: "2026-01-01T00:00:00Z"',
        'spec:',
        '  containers:',
        '  - name: c',
        '    ports:',
        '    - containerPort: 80',
        '  empty: []',
        '  none: {}',
        '',
      ].join('\n'),
    );
  });

  it('writes multi-line strings as literal blocks with the right chomping', () => {
    assert.equal(goYaml({ a: 'x\ny\n', b: 'x\ny' }), 'a: |\n  x\n  y\nb: |-\n  x\n  y\n');
  });

  it('orders keys with digit runs numerically', () => {
    assert.deepEqual(['a10', 'a9', 'b', 'a'].sort(goYamlKeyLess), ['a', 'a9', 'a10', 'b']);
  });
});

describe('goJson', () => {
  it('indents by 4, sorts keys and escapes HTML characters as encoding/json does', () => {
    assert.equal(goJson({ b: 1, a: ['<none>', {}] }), '{\n    "a": [\n        "\\u003cnone\\u003e",\n        {}\n    ],\n    "b": 1\n}');
    assert.equal(goJson({ b: 1, a: 2 }, { sortKeys: false, indent: 0 }), '{"b":1,"a":2}');
  });
});

describe('tabwrite (kubectl tabwriter settings)', () => {
  it('pads every cell but the last to the column width (min 6, padding 3)', () => {
    assert.equal(tabwrite(['NAME\tREADY\tAGE', 'a\t1/1\t5s', 'longer-name\t0/1\t1m']), 'NAME          READY   AGE\na             1/1     5s\nlonger-name   0/1     1m\n');
  });
});
