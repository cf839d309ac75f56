import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SelectorParseError, formatLabelSelector, formatMetaLabelSelector, labelSelectorFromMeta, matchesLabels, newRequirement,
  parseLabelSelector,
} from './labels.ts';
import type { LabelSelector, Operator } from './labels.ts';

// Fixtures from k8s.io/apimachinery/pkg/labels/selector_test.go.

const req = (key: string, operator: Operator, values: string[] = []): LabelSelector[number] => newRequirement({ key, operator, values });

void describe('parseLabelSelector', () => {
  void it('round-trips upstream good strings (whitespace removed)', () => {
    for (const s of ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=', 'x= ', 'x=,z= ', 'x= ,z= ', '!x', 'x>1', 'x>1,z<5']) {
      assert.equal(formatLabelSelector(parseLabelSelector(s)), s.replaceAll(' ', ''), s);
    }
  });

  void it('rejects upstream bad strings', () => {
    for (const s of ['x=a||y=b', 'x==a==b', '!x=a', 'x<a']) {
      assert.throws(() => parseLabelSelector(s), SelectorParseError, s);
    }
  });

  void it('parses deterministically (sorted by key)', () => {
    assert.equal(formatLabelSelector(parseLabelSelector('x=a,a=x')), formatLabelSelector(parseLabelSelector('a=x,x=a')));
    assert.equal(formatLabelSelector(parseLabelSelector('x=a,a=x')), 'a=x,x=a');
  });

  void it('produces the requirements of upstream TestSetSelectorParser', () => {
    const cases: [string, LabelSelector][] = [
      ['', []],
      ['\rx', [req('x', 'Exists')]],
      ['this-is-a-dns.domain.com/key-with-dash', [req('this-is-a-dns.domain.com/key-with-dash', 'Exists')]],
      ['this-is-another-dns.domain.com/key-with-dash in (so,what)', [req('this-is-another-dns.domain.com/key-with-dash', 'In', ['so', 'what'])]],
      ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', [req('0.1.2.domain/99', 'NotIn', ['10.10.100.1', 'tick.tack.clock'])]],
      ['foo  in\t (abc)', [req('foo', 'In', ['abc'])]],
      ['x notin\n (abc)', [req('x', 'NotIn', ['abc'])]],
      ['x  notin\t\t\t(abc,def)', [req('x', 'NotIn', ['abc', 'def'])]],
      ['x in (abc,def)', [req('x', 'In', ['abc', 'def'])]],
      ['x in (abc,)', [req('x', 'In', ['', 'abc'])]],
      ['x in ()', [req('x', 'In', [''])]],
      ['x notin (abc,,def),bar,z in (),w', [req('bar', 'Exists'), req('w', 'Exists'), req('x', 'NotIn', ['', 'abc', 'def']), req('z', 'In', [''])]],
      ['x,y in (a)', [req('x', 'Exists'), req('y', 'In', ['a'])]],
      ['x=a', [req('x', 'Equals', ['a'])]],
      ['x>1', [req('x', 'GreaterThan', ['1'])]],
      ['x<7', [req('x', 'LessThan', ['7'])]],
      ['x=a,y!=b', [req('x', 'Equals', ['a']), req('y', 'NotEquals', ['b'])]],
      ['x=a,y!=b,z in (h,i,j)', [req('x', 'Equals', ['a']), req('y', 'NotEquals', ['b']), req('z', 'In', ['h', 'i', 'j'])]],
      ['x notin ( )', [req('x', 'NotIn', [''])]],
      ['x notin (, a)', [req('x', 'NotIn', ['', 'a'])]],
      ['a ', [req('a', 'Exists')]],
      ['a in (x,y,notin, z,in)', [req('a', 'In', ['in', 'notin', 'x', 'y', 'z'])]],
      ['x==a', [req('x', 'DoubleEquals', ['a'])]],
    ];
    for (const [input, want] of cases) assert.deepEqual(parseLabelSelector(input), want, JSON.stringify(input));
  });

  void it('rejects the invalid inputs of upstream TestSetSelectorParser', () => {
    for (const s of ['x=a||y=b', ',x,y', 'x nott in (y)', 'a in (xyz),', 'a in (xyz)b notin ()', 'a in (xyz abc)', 'a notin(', 'a (', '(']) {
      assert.throws(() => parseLabelSelector(s), SelectorParseError, s);
    }
  });

  void it('reports errors in upstream wording', () => {
    const cases: [string, string][] = [
      ['x==a==b', "found '==', expected: ',' or 'end of string'"],
      ['(', "found '(', expected: !, identifier, or 'end of string'"],
      ['a in (xyz),', "found '', expected: identifier after ','"],
      ['x nott in (y)', "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"],
      ['a in (xyz abc)', "unable to parse requirement: found 'abc', expected: ',' or ')'"],
      ['a notin(', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
      ['x<a', `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
      ['x=a b', "found 'b', expected: ',' or 'end of string'"],
      [
        'x=a||y',
        "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      ],
      [
        '-x',
        "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    ];
    for (const [input, message] of cases) assert.throws(() => parseLabelSelector(input), { name: 'SelectorParseError', message }, input);
  });
});

void describe('newRequirement', () => {
  void it('validates as upstream TestRequirementConstructor', () => {
    const cases: [string, string, string[], boolean][] = [
      ['x', 'In', [], false],
      ['x', 'NotIn', [], false],
      ['x', 'In', ['foo'], true],
      ['x', 'NotIn', ['foo'], true],
      ['x', 'Exists', [], true],
      ['x', 'DoesNotExist', [], true],
      ['1foo', 'In', ['bar'], true],
      ['1234', 'In', ['bar'], true],
      ['y', 'GreaterThan', ['1'], true],
      ['z', 'LessThan', ['6'], true],
      ['foo', 'GreaterThan', ['bar'], false],
      ['barz', 'LessThan', ['blah'], false],
      ['a'.repeat(254), 'Exists', [], false],
      ['x', 'Equals', ['a', 'b'], false],
      ['x', 'Exists', ['a'], false],
      ['x', 'Bogus', ['a'], false],
    ];
    for (const [key, op, values, ok] of cases) {
      if (ok) assert.doesNotThrow(() => newRequirement({ key, operator: op, values }), `${key} ${op}`);
      else assert.throws(() => newRequirement({ key, operator: op, values }), SelectorParseError, `${key} ${op}`);
    }
  });

  void it('words an empty value set as upstream', () => {
    assert.throws(() => newRequirement({ key: 'x', operator: 'In', values: [] }), {
      message: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
    });
  });
});

void describe('matchesLabels', () => {
  const expectMatch = (sel: string, labels: Record<string, string>): void => assert.ok(matchesLabels(parseLabelSelector(sel), labels), `${sel} should match ${JSON.stringify(labels)}`);
  const expectNoMatch = (sel: string, labels: Record<string, string>): void => assert.ok(!matchesLabels(parseLabelSelector(sel), labels), `${sel} should not match ${JSON.stringify(labels)}`);

  void it('follows upstream TestSelectorMatches', () => {
    expectMatch('', { x: 'y' });
    expectMatch('x=y', { x: 'y' });
    expectMatch('x=y,z=w', { x: 'y', z: 'w' });
    expectMatch('x!=y,z!=w', { x: 'z', z: 'a' });
    expectMatch('notin=in', { notin: 'in' });
    expectMatch('x', { x: 'z' });
    expectMatch('!x', { y: 'z' });
    expectMatch('x>1', { x: '2' });
    expectMatch('x<1', { x: '0' });
    expectNoMatch('x=z', {});
    expectNoMatch('x=y', { x: 'z' });
    expectNoMatch('x=y,z=w', { x: 'w', z: 'w' });
    expectNoMatch('x!=y,z!=w', { x: 'z', z: 'w' });
    expectNoMatch('x', { y: 'z' });
    expectNoMatch('!x', { x: 'z' });
    expectNoMatch('x>1', { x: '0' });
    expectNoMatch('x<1', { x: '2' });
    const labelset = { foo: 'bar', baz: 'blah' };
    expectMatch('foo=bar', labelset);
    expectMatch('baz=blah', labelset);
    expectMatch('foo=bar,baz=blah', labelset);
    expectNoMatch('foo=blah', labelset);
    expectNoMatch('baz=bar', labelset);
    expectNoMatch('foo=bar,foobar=bar,baz=blah', labelset);
  });

  void it('follows upstream TestRequirementSelectorMatching', () => {
    const cases: [Record<string, string>, LabelSelector, boolean][] = [
      [{ x: 'foo', y: 'baz' }, [req('x', 'In', ['foo']), req('y', 'NotIn', ['alpha'])], true],
      [{ x: 'foo', y: 'baz' }, [req('x', 'In', ['foo']), req('y', 'In', ['alpha'])], false],
      [{ y: '' }, [req('x', 'NotIn', ['']), req('y', 'Exists')], true],
      [{ y: '' }, [req('x', 'DoesNotExist'), req('y', 'Exists')], true],
      [{ y: '' }, [req('x', 'NotIn', ['']), req('y', 'DoesNotExist')], false],
      [{ y: 'baz' }, [req('x', 'In', [''])], false],
      [{ z: '2' }, [req('z', 'GreaterThan', ['1'])], true],
      [{ z: 'v2' }, [req('z', 'GreaterThan', ['1'])], false],
    ];
    for (const [labels, sel, want] of cases) assert.equal(matchesLabels(sel, labels), want, formatLabelSelector(sel));
  });

  void it('treats undefined labels as none and does not see inherited keys', () => {
    assert.ok(matchesLabels([], undefined));
    assert.ok(!matchesLabels(parseLabelSelector('x'), undefined));
    assert.ok(matchesLabels(parseLabelSelector('!toString'), {}));
    assert.ok(!matchesLabels(parseLabelSelector('constructor'), {}));
  });
});

void describe('formatLabelSelector', () => {
  void it('follows upstream TestToString', () => {
    assert.equal(formatLabelSelector([req('x', 'In', ['abc', 'def']), req('y', 'NotIn', ['jkl']), req('z', 'Exists')]), 'x in (abc,def),y notin (jkl),z');
    assert.equal(formatLabelSelector([req('x', 'NotIn', ['abc', 'def']), req('y', 'NotEquals', ['jkl']), req('z', 'DoesNotExist')]), 'x notin (abc,def),y!=jkl,!z');
    assert.equal(formatLabelSelector([req('x', 'NotIn', ['abc']), req('y', 'In', ['jkl', 'mno']), req('z', 'NotIn', [''])]), 'x notin (abc),y in (jkl,mno),z notin ()');
    assert.equal(formatLabelSelector([req('x', 'Equals', ['abc']), req('y', 'DoubleEquals', ['jkl']), req('z', 'NotEquals', ['a']), req('z', 'Exists')]), 'x=abc,y==jkl,z!=a,z');
    assert.equal(formatLabelSelector([req('x', 'GreaterThan', ['2']), req('y', 'LessThan', ['8']), req('z', 'Exists')]), 'x>2,y<8,z');
  });

  void it('sorts values on output without mutating the requirement', () => {
    const r = req('x', 'In', ['foo', 'bar']);
    assert.equal(formatLabelSelector([r]), 'x in (bar,foo)');
    assert.deepEqual(r.values, ['foo', 'bar']);
  });
});

void describe('labelSelectorFromMeta', () => {
  void it('returns everything for undefined, null and empty selectors', () => {
    assert.deepEqual(labelSelectorFromMeta(undefined), []);
    assert.deepEqual(labelSelectorFromMeta(null), []);
    assert.deepEqual(labelSelectorFromMeta({}), []);
  });

  void it('converts matchLabels and matchExpressions, sorted by key', () => {
    const sel = labelSelectorFromMeta({
      matchLabels: { tier: 'web', app: 'shop' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'canary'] },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(formatLabelSelector(sel), 'app=shop,env in (canary,prod),gpu,!legacy,tier=web,zone notin (a)');
    assert.ok(matchesLabels(sel, { app: 'shop', tier: 'web', env: 'prod', gpu: '1' }));
    assert.ok(!matchesLabels(sel, { app: 'shop', tier: 'web', env: 'prod', gpu: '1', legacy: 'x' }));
    assert.ok(!matchesLabels(sel, { app: 'shop', tier: 'web', env: 'dev', gpu: '1' }));
  });

  void it('rejects invalid operators, keys and values', () => {
    assert.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }), {
      name: 'SelectorParseError', message: '"Equals" is not a valid label selector operator',
    });
    assert.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), SelectorParseError);
    assert.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), SelectorParseError);
    assert.throws(() => labelSelectorFromMeta({ matchLabels: { 'bad key': 'v' } }), SelectorParseError);
    assert.throws(() => labelSelectorFromMeta({ matchLabels: { k: 'bad value' } }), SelectorParseError);
  });

  void it('formats a metav1.LabelSelector as Scale.status.selector', () => {
    assert.equal(formatMetaLabelSelector({ matchLabels: { app: 'web' } }), 'app=web');
    assert.equal(formatMetaLabelSelector({}), '');
  });
});
