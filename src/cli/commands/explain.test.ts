import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { indent, renderExplain, wrap } from './explain.ts';

describe('wrap (go-wordwrap)', () => {
  it('breaks at spaces within the limit and keeps over-long words whole', () => {
    assert.equal(wrap(10, 'aaa bbb ccc ddd'), 'aaa bbb\nccc ddd');
    assert.equal(wrap(5, 'https://example.com/long x'), 'https://example.com/long\nx');
    assert.equal(wrap(20, 'one\ntwo'), 'one\ntwo');
  });
  it('indent pads every line', () => {
    assert.equal(indent(2, 'a\nb'), '  a\n  b');
  });
});

describe('renderExplain', () => {
  const doc = {
    paths: { '/api/v1/namespaces/{namespace}/widgets/{name}': { get: { 'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: 'Widget' } } } },
    components: {
      schemas: {
        W: { 'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Widget' }], description: 'A widget.', type: 'object', required: ['spec'], properties: { spec: { description: 'The spec.', allOf: [{ $ref: '#/components/schemas/S' }] }, kind: { type: 'string', description: 'Kind.' } } },
        S: { description: 'Spec of a widget.', type: 'object', properties: { size: { type: 'integer', description: 'How big.', enum: [1, 2] }, tags: { type: 'array', items: { type: 'string' } } } },
      },
    },
  };
  it('prints the kind, description and fields with type guesses', () => {
    const { text, error } = renderExplain(doc, { group: '', version: 'v1', resource: 'widgets', fieldPath: [], recursive: false });
    assert.equal(error, undefined);
    assert.equal(text, 'KIND:       Widget\nVERSION:    v1\n\nDESCRIPTION:\n    A widget.\n    \nFIELDS:\n  kind\t<string>\n    Kind.\n\n  spec\t<S> -required-\n    The spec.\n\n\n');
  });
  it('follows a field path through allOf refs, with enums and --recursive', () => {
    const { text } = renderExplain(doc, { group: '', version: 'v1', resource: 'widgets', fieldPath: ['spec'], recursive: true });
    assert.equal(text, 'KIND:       Widget\nVERSION:    v1\n\nFIELD: spec <S>\n\n\nDESCRIPTION:\n    The spec.\n    Spec of a widget.\n    \nFIELDS:\n  size\t<integer>\n  enum: 1, 2\n  tags\t<[]string>\n\n');
  });
  it('reports a missing field after the header', () => {
    const { text, error } = renderExplain(doc, { group: '', version: 'v1', resource: 'widgets', fieldPath: ['nope'], recursive: false });
    assert.equal(text, 'KIND:       Widget\nVERSION:    v1\n\n');
    assert.equal(error?.message, 'field "nope" does not exist');
  });
});
