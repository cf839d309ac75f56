import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { VerbModule } from '../cli/command.ts';
import { directVerb, runDirectVerb } from './cli-direct.ts';

const names = new Set(['get', 'apply']);
const lookup = (n: string): { name: string; load: () => Promise<VerbModule> } | undefined =>
  names.has(n) ? { name: n, load: () => Promise.reject(new Error('not loaded in this test')) } : undefined;

describe('directVerb', () => {
  it('parses the global flags before the verb and leaves the rest to the verb', () => {
    const d = directVerb(['-n', 'get', '--kubeconfig=/k', 'apply', '-f', 'x.yaml', '-n', 'other'], lookup);
    assert.equal(d?.verb.name, 'apply');
    assert.equal(d?.globals.namespace, 'get');
    assert.equal(d?.globals.kubeconfig, '/k');
    assert.deepEqual(d?.args, ['-f', 'x.yaml', '-n', 'other']);
  });

  it('declines help, unknown verbs, a missing verb and malformed global flags', () => {
    assert.equal(directVerb(['--help', 'get'], lookup), undefined);
    assert.equal(directVerb(['frobnicate', 'pods'], lookup), undefined);
    assert.equal(directVerb(['-n', 'ns'], lookup), undefined);
    assert.equal(directVerb(['--no-such-flag', 'get', 'pods'], lookup), undefined);
    assert.equal(directVerb(['--', 'get'], lookup), undefined);
  });
});

describe('runDirectVerb', () => {
  it('runs the verb with its arguments and global flags, and returns its exit code', async () => {
    let seen: { args: string[]; namespace?: string } | undefined;
    const mod: VerbModule = {
      command: {
        use: 'get', short: 'get things',
        flags: [{ name: 'output', short: 'o', type: 'string' }],
        async run(ctx, flags) {
          seen = { args: flags.args, namespace: ctx.globals.namespace };
          return 3;
        },
      },
    };
    const code = await runDirectVerb(['node', 'skiff', '-n', 'ns1', 'get', 'pods', '-o', 'name'], { name: 'get', load: async () => mod });
    assert.equal(code, 3);
    assert.deepEqual(seen, { args: ['pods'], namespace: 'ns1' });
  });

  it('returns undefined, without loading the verb, when argv names another verb', async () => {
    let loaded = false;
    const code = await runDirectVerb(['node', 'skiff', 'apply', '-f', 'x'], { name: 'get', load: async () => { loaded = true; return { command: { use: '', short: '', flags: [], run: async () => 0 } }; } });
    assert.equal(code, undefined);
    assert.equal(loaded, false);
  });
});
