import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FlagSpec } from './flags.ts';
import { FlagError, parseDuration, parseFlags } from './flags.ts';

const specs: FlagSpec[] = [
  { name: 'output', short: 'o', type: 'string' },
  { name: 'all-namespaces', short: 'A', type: 'bool' },
  { name: 'interactive', short: 'i', type: 'bool' },
  { name: 'tty', short: 't', type: 'bool' },
  { name: 'replicas', type: 'int', default: 1 },
  { name: 'label-columns', short: 'L', type: 'stringSlice' },
  { name: 'env', type: 'stringArray' },
  { name: 'dry-run', type: 'string', default: 'none', noOptDefault: 'unchanged' },
];

describe('parseFlags (pflag semantics)', () => {
  it('accepts every value spelling and keeps positionals interspersed', () => {
    const p = parseFlags(['pods', '-o', 'wide', 'x', '--replicas=3', '-Ai', '-Lapp,tier', '-L', 'z', '--env', 'A=1', '--env=B=2'], specs);
    assert.deepEqual(p.args, ['pods', 'x']);
    assert.equal(p.values['output'], 'wide');
    assert.equal(p.values['replicas'], 3);
    assert.equal(p.values['all-namespaces'], true);
    assert.equal(p.values['interactive'], true);
    assert.deepEqual(p.values['label-columns'], ['app', 'tier', 'z']);
    assert.deepEqual(p.values['env'], ['A=1', 'B=2']);
    assert.ok(p.changed.has('output') && !p.changed.has('tty'));
  });

  it('handles -ovalue, -o=value, --bool=false, NoOptDefVal and --', () => {
    const p = parseFlags(['-ojson', '--all-namespaces=false', '--dry-run', 'a', '--', '-x', '--y'], specs);
    assert.equal(p.values['output'], 'json');
    assert.equal(p.values['all-namespaces'], false);
    assert.equal(p.values['dry-run'], 'unchanged');
    assert.deepEqual(p.args, ['a', '-x', '--y']);
    assert.equal(p.dashAt, 1);
    assert.equal(parseFlags(['-o=yaml'], specs).values['output'], 'yaml');
  });

  it("words errors as pflag does", () => {
    assert.throws(() => parseFlags(['--bogus'], specs), new FlagError('unknown flag: --bogus'));
    assert.throws(() => parseFlags(['-z'], specs), new FlagError("unknown shorthand flag: 'z' in -z"));
    assert.throws(() => parseFlags(['-o'], specs), new FlagError("flag needs an argument: 'o' in -o"));
    assert.throws(() => parseFlags(['--output'], specs), new FlagError('flag needs an argument: --output'));
    assert.throws(() => parseFlags(['--replicas=abc'], specs), new FlagError('invalid argument "abc" for "--replicas" flag: strconv.ParseInt: parsing "abc": invalid syntax'));
    assert.throws(() => parseFlags(['--tty=maybe'], specs), /strconv.ParseBool/);
  });

  it('parses Go durations', () => {
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('10'), undefined);
    assert.equal(parseDuration('1x'), undefined);
  });
});
