import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { setUpVolumes, VolumeError } from './volumes.ts';
import type { TokenSource } from './volumes.ts';

const pod: Pod = {
  metadata: { name: 'web', namespace: 'team', uid: 'uid-1' },
  spec: {
    serviceAccountName: 'builder',
    containers: [{ name: 'c', image: 'busybox' }],
    volumes: [{
      name: 'kube-api-access',
      projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 100, audience: 'vault' } }] },
    }],
  },
};

/** A TokenRequest API stand-in: numbered tokens, expiring `expirationSeconds` after the fake clock's now. */
function fakeTokens(clock: { now: number }): TokenSource & { getConfigMap: () => Promise<undefined>; getSecret: () => Promise<undefined>; calls: unknown[]; fail: boolean } {
  const calls: unknown[] = [];
  return {
    calls,
    fail: false,
    getConfigMap: async () => undefined,
    getSecret: async () => undefined,
    async requestServiceAccountToken(namespace, sa, opts) {
      if (this.fail) throw new Error('the server is unavailable');
      calls.push({ namespace, sa, ...opts });
      return { token: `token-${calls.length}`, expirationTimestamp: new Date(clock.now + opts.expirationSeconds * 1000).toISOString() };
    },
  };
}

test('a projected ServiceAccount token is requested bound to the pod and re-requested after 80 % of its lifetime', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-token-'));
  try {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const source = fakeTokens(clock);
    const opts = { source, downward: { hostIP: '127.0.0.1', podIP: '10.0.0.2', nodeAllocatable: {} }, now: () => clock.now };
    const file = join(dir, 'kube-api-access', 'token');
    await setUpVolumes(pod, dir, opts);
    assert.equal(readFileSync(file, 'utf8'), 'token-1');
    assert.deepEqual(source.calls[0], { namespace: 'team', sa: 'builder', audiences: ['vault'], expirationSeconds: 100, pod: { name: 'web', uid: 'uid-1' } });
    clock.now += 79_000;
    await setUpVolumes(pod, dir, opts);
    assert.equal(readFileSync(file, 'utf8'), 'token-1', 'still fresh before 80 %');
    clock.now += 2_000;
    await setUpVolumes(pod, dir, opts);
    assert.equal(readFileSync(file, 'utf8'), 'token-2', 'refreshed past 80 %');
    assert.equal(source.calls.length, 2);
    // The API failing keeps a token that has not expired, and fails the mount once it has.
    source.fail = true;
    clock.now += 85_000;
    await setUpVolumes(pod, dir, opts);
    assert.equal(readFileSync(file, 'utf8'), 'token-2');
    clock.now += 20_000;
    await assert.rejects(setUpVolumes(pod, dir, opts), (e: unknown) => e instanceof VolumeError && /failed to fetch token: the server is unavailable/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
