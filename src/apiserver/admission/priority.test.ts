import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import { admitPodPriority } from './priority.ts';

const classes: PriorityClass[] = [
  { metadata: { name: 'high' }, value: 1000, preemptionPolicy: 'PreemptLowerPriority' },
  { metadata: { name: 'nopreempt' }, value: 500, preemptionPolicy: 'Never' },
  { metadata: { name: 'default' }, value: 7, globalDefault: true },
];
const lookup = (n: string): PriorityClass | undefined => classes.find((c) => c.metadata?.name === n);
const pod = (spec: Partial<NonNullable<Pod['spec']>>): Pod => ({ metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } });

describe('admitPodPriority', () => {
  it('resolves the class to priority and preemptionPolicy', async () => {
    const p = await admitPodPriority(pod({ priorityClassName: 'nopreempt' }), lookup);
    assert.equal(p.spec?.priority, 500);
    assert.equal(p.spec?.preemptionPolicy, 'Never');
  });

  it('refuses an unknown class with the upstream message', async () => {
    await assert.rejects(admitPodPriority(pod({ priorityClassName: 'nope' }), lookup), (e: Error & { code?: number }) => {
      assert.equal(e.message, 'pods "p" is forbidden: no PriorityClass with name nope was found');
      return true;
    });
  });

  it('uses the global default, else 0', async () => {
    const p = await admitPodPriority(pod({}), lookup, { listPriorityClasses: () => classes });
    assert.equal(p.spec?.priority, 7);
    assert.equal(p.spec?.priorityClassName, 'default');
    assert.equal((await admitPodPriority(pod({}), lookup)).spec?.priority, 0);
  });

  it('refuses a conflicting priority or preemptionPolicy', async () => {
    await assert.rejects(admitPodPriority(pod({ priorityClassName: 'high', priority: 5 }), lookup), /the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name/);
    await assert.rejects(admitPodPriority(pod({ priorityClassName: 'nopreempt', preemptionPolicy: 'PreemptLowerPriority' }), lookup), /the string value of PreemptionPolicy \(PreemptLowerPriority\) must not be provided in pod spec; priority admission controller computed Never/);
    assert.equal((await admitPodPriority(pod({ priorityClassName: 'high', priority: 1000 }), lookup)).spec?.priority, 1000);
  });
});
