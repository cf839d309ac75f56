import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { parseSimpleYaml } from './kubeconfig-yaml.ts';

const kubectlStyle = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=
    server: https://127.0.0.1:6443
  name: skiff
- cluster:
    insecure-skip-tls-verify: true
    server: "https://10.0.0.1:443"
  name: 'other'
contexts:
- context:
    cluster: skiff
    namespace: default
    user: admin
  name: skiff
current-context: skiff
kind: Config
preferences: {}
users:
- name: admin
  user:
    token: abc.def
    exec:
      args:
      - --region
      - eu
      command: aws
      env: []
# trailing comment
`;

/** A random kubeconfig-shaped value: nested maps and lists with awkward strings, numbers and booleans. */
function randomValue(rand: () => number, depth: number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const strings = ['plain', 'https://127.0.0.1:6443', 'a: b', 'x #y', 'x#y', '#lead', "it's", 'say "hi"', '', ' padded ', 'true', 'null', '123', '1.5', '0x1f', '- dash', 'multi\nline', 'tab\there', 'ünïcode', '*star', '&amp', '!tag', 'a'.repeat(120), 'key:', '~', 'yes', '.inf', '@at', '%pct', '{x}', '[y]', '-x', '?q', ':c', '--flag', 'a -b', 'x: ', 'v1.2.3', '+1', '-5', '1_000', '0'];
  const r = rand();
  if (depth > 3 || r < 0.35) return pick<unknown>([...strings, true, false, 0, 42, -7, null]);
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(rand() * 5); i++) o[pick(['name', 'server', 'user', 'a b', 'with:colon', 'x-y', '#k', "q'k", 'current-context', 'z'])] = randomValue(rand, depth + 1);
  return o;
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('parseSimpleYaml', () => {
  it('reads kubectl-style and skiff-style kubeconfigs exactly as the yaml package does', () => {
    const doc = parseSimpleYaml(kubectlStyle);
    assert.ok(doc, 'the subset covers kubectl output');
    assert.deepEqual(doc.value, parse(kubectlStyle));
    const skiffStyle = stringify(parse(kubectlStyle));
    assert.deepEqual(parseSimpleYaml(skiffStyle)?.value, parse(skiffStyle));
    assert.deepEqual(parseSimpleYaml('')?.value, null);
  });

  it('declines what it does not model instead of guessing', () => {
    for (const text of ['a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: |\n  x\n', 'a: {b: 1}\n', 'a: [1, 2]\n', 'a: b\n  c\n', 'a: 1\na: 2\n', '--- \na: 1\n---\na: 2\n', 'a: 0o17\n', 'a:\n\t- b\n', 'a: 1.5\n', 'a: "x" # c\n', "a: 'b # c'\n"]) {
      assert.equal(parseSimpleYaml(text), undefined, JSON.stringify(text));
    }
  });

  it('agrees with the yaml package whenever it answers (differential fuzz)', () => {
    const rand = lcg(7);
    let answered = 0;
    for (let i = 0; i < 3000; i++) {
      const value = { apiVersion: 'v1', data: randomValue(rand, 0) };
      const options = [{}, { indentSeq: false }, { lineWidth: 0 }, { defaultStringType: 'QUOTE_DOUBLE' as const }, { defaultStringType: 'QUOTE_SINGLE' as const }][i % 5]!;
      const text = stringify(value, options);
      const got = parseSimpleYaml(text);
      if (!got) continue;
      answered++;
      assert.deepEqual(got.value, parse(text), text);
    }
    assert.ok(answered > 1000, `the subset answered only ${answered} of 3000`);
  });
});
