import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SelectorParseError, escapeFieldValue, fieldRequiresExactMatch, formatFieldSelector, matchesFields, parseFieldSelector,
  unescapeFieldValue,
} from './fields.ts';

// Fixtures from k8s.io/apimachinery/pkg/fields/selector_test.go.

const matches = (sel: string, set: Record<string, string>): boolean => matchesFields(parseFieldSelector(sel), (f) => set[f]);

void describe('parseFieldSelector', () => {
  void it('round-trips upstream good strings', () => {
    for (const s of ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=a||y\\=b', 'x=a\\=\\=b']) {
      assert.equal(formatFieldSelector(parseFieldSelector(s)), s, s);
    }
  });

  void it('rejects upstream bad strings', () => {
    for (const s of ['x=a||y=b', 'x==a==b', 'x=a,b', 'x in (a)', 'x in (a,b,c)', 'x']) {
      assert.throws(() => parseFieldSelector(s), SelectorParseError, s);
    }
  });

  void it('parses ==, != and escaped commas', () => {
    assert.deepEqual(parseFieldSelector('b==v,a!=w,k=\\,x'), [
      { field: 'a', operator: '!=', value: 'w' },
      { field: 'b', operator: '=', value: 'v' },
      { field: 'k', operator: '=', value: ',x' },
    ]);
    assert.deepEqual(parseFieldSelector('a=a,'), [{ field: 'a', operator: '=', value: 'a' }]);
    assert.deepEqual(parseFieldSelector('함=수,목=록').map((r) => r.field), ['목', '함']);
  });

  void it('parses deterministically', () => {
    assert.equal(formatFieldSelector(parseFieldSelector('x=a,a=x')), formatFieldSelector(parseFieldSelector('a=x,x=a')));
  });

  void it('words errors as upstream', () => {
    assert.throws(() => parseFieldSelector('x'), { message: "invalid selector: 'x'; can't understand 'x'" });
    assert.throws(() => parseFieldSelector('x=a,b'), { message: "invalid selector: 'x=a,b'; can't understand 'b'" });
    // Upstream prints the rune with %v: its code point.
    assert.throws(() => parseFieldSelector('x==a==b'), { message: 'invalid field selector: unescaped character in value: 61' });
    assert.throws(() => parseFieldSelector('x=\\a'), { message: 'invalid field selector: invalid escape sequence: \\a' });
  });
});

void describe('escapeFieldValue / unescapeFieldValue', () => {
  void it('follow upstream TestEscapeValue', () => {
    const cases: [string, string][] = [['', ''], ['a', 'a'], ['=', '\\='], [',', '\\,'], ['\\', '\\\\'], ['\\=\\,\\', '\\\\\\=\\\\\\,\\\\']];
    for (const [raw, escaped] of cases) {
      assert.equal(escapeFieldValue(raw), escaped);
      assert.equal(unescapeFieldValue(escaped), raw);
    }
    for (const bad of ['\\', '\\\\\\', '\\a']) assert.throws(() => unescapeFieldValue(bad), /invalid escape sequence/, bad);
  });
});

void describe('matchesFields', () => {
  void it('follows upstream TestSelectorMatches', () => {
    assert.ok(matches('', { x: 'y' }));
    assert.ok(matches('x=y', { x: 'y' }));
    assert.ok(matches('x=y,z=w', { x: 'y', z: 'w' }));
    assert.ok(matches('x!=y,z!=w', { x: 'z', z: 'a' }));
    assert.ok(matches('notin=in', { notin: 'in' }));
    assert.ok(!matches('x=y', { x: 'z' }));
    assert.ok(!matches('x=y,z=w', { x: 'w', z: 'w' }));
    assert.ok(!matches('x!=y,z!=w', { x: 'z', z: 'w' }));
    const fieldset = { foo: 'bar', baz: 'blah', complex: '=value\\,\\' };
    assert.ok(matches('foo=bar', fieldset));
    assert.ok(matches('baz=blah', fieldset));
    assert.ok(matches('foo=bar,baz=blah', fieldset));
    assert.ok(matches('foo=bar,baz=blah,complex=\\=value\\\\\\,\\\\', fieldset));
    assert.ok(!matches('foo=blah', fieldset));
    assert.ok(!matches('baz=bar', fieldset));
    assert.ok(!matches('foo=bar,foobar=bar,baz=blah', fieldset));
  });

  void it('treats a missing field as the empty string', () => {
    assert.ok(matches('spec.nodeName=', {}));
    assert.ok(!matches('spec.nodeName!=', {}));
  });
});

void describe('fieldRequiresExactMatch', () => {
  void it('finds the value of an = term only', () => {
    assert.equal(fieldRequiresExactMatch(parseFieldSelector('a=b,test=x'), 'test'), 'x');
    assert.equal(fieldRequiresExactMatch(parseFieldSelector('test='), 'test'), '');
    assert.equal(fieldRequiresExactMatch(parseFieldSelector('test!=b'), 'test'), undefined);
    assert.equal(fieldRequiresExactMatch([], 'test'), undefined);
  });
});
