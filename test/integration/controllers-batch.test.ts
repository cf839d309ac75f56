/**
 * Job, CronJob and TTL-after-finished controllers against a real `skiff server`, driven by real kubectl; pods are
 * run by the test-only fake kubelet, whose outcome per pod comes from the `fake-outcome` label.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { waitFor } from '../../src/base/wait.ts';
import { sleep } from '../../src/base/clock.ts';
import { setLogSink } from '../../src/base/log.ts';
import { ApiClient, clientConfigFromKubeconfig, RestClient } from '../../src/client/index.ts';
import { pods as podsDef } from '../../src/api/core/v1/index.ts';
import { jobs as jobsDef } from '../../src/api/batch/v1/job.ts';
import { cronJobs as cronJobsDef } from '../../src/api/batch/v1/cron-job.ts';
import { startControllerManager } from '../../src/controllers/index.ts';
import type { RunningControllerManager } from '../../src/controllers/index.ts';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { startFakeKubelet } from './controllers-fake-kubelet.ts';
import type { FakeKubelet, PodOutcome } from './controllers-fake-kubelet.ts';

let server: TestServer;
let kubectl: Kubectl;
let api: ApiClient;
let cm: RunningControllerManager;
let kubelet: FakeKubelet;
/** How far the controller manager's clock runs ahead of real time (CronJob tests move it forward). */
let clockOffsetMs = 0;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? { timeoutMs: 150_000 } : { input, timeoutMs: 150_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function getJob(name: string): Promise<Job> {
  return api.resource<Job>(jobsDef).get(name, { namespace: 'default' });
}

function jobPods(job: Job): Promise<Pod[]> {
  return api.resource<Pod>(podsDef).list({ namespace: 'default' }).then((l) => l.items.filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === job.metadata?.uid)));
}

function jobManifest(name: string, o: { outcome: PodOutcome; completions?: number; parallelism?: number; backoffLimit?: number; indexed?: boolean; ttl?: number }): string {
  const job: Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: {
      completions: o.completions,
      parallelism: o.parallelism,
      backoffLimit: o.backoffLimit,
      completionMode: o.indexed ? 'Indexed' : undefined,
      ttlSecondsAfterFinished: o.ttl,
      template: { metadata: { labels: { 'fake-outcome': o.outcome } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
  return JSON.stringify(job);
}

before(async () => {
  setLogSink(process.env.SKIFF_TEST_LOGS ? (l) => process.stderr.write(l + '\n') : null);
  server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
  kubectl = kubectlFor(server);
  api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  cm = await startControllerManager({
    kubeconfig: server.kubeconfig, leaderElect: false,
    clock: { now: () => Date.now() + clockOffsetMs, sleep: (ms, o) => sleep(ms, o) },
    controllers: ['job', 'cronjob', 'ttl-after-finished', 'garbage-collector'],
  });
  kubelet = await startFakeKubelet({ client: api, outcome: (p) => (p.metadata?.labels?.['fake-outcome'] as PodOutcome | undefined) ?? 'run' });
  assert.equal(await cm.waitUntilRunning(AbortSignal.timeout(20_000)), true);
});

after(async () => {
  await kubelet?.stop();
  await cm?.stop();
  api?.close();
  kubectl?.cleanup();
  await server?.stop();
});

describe('Job controller', () => {
  it('runs a job to completion with parallelism, counting through the tracking finalizer', async () => {
    await ok(['create', '-f', '-'], jobManifest('ok', { outcome: 'succeed', completions: 3, parallelism: 2 }));
    await ok(['wait', '--for=condition=complete', 'job/ok', '--timeout=120s']);
    const job = await getJob('ok');
    assert.equal(job.status?.succeeded, 3);
    assert.equal(job.status?.failed ?? 0, 0);
    assert.equal(job.status?.active ?? 0, 0);
    assert.ok(job.status?.startTime);
    assert.ok(job.status?.completionTime);
    const types = (job.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`);
    assert.deepEqual(types, ['SuccessCriteriaMet=True', 'Complete=True']);
    assert.deepEqual(job.status?.uncountedTerminatedPods ?? {}, {});
    const pods = await jobPods(job);
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.match(p.metadata?.name ?? '', /^ok-[a-z0-9]{5}$/);
      assert.equal(p.metadata?.finalizers?.includes('batch.kubernetes.io/job-tracking') ?? false, false, 'finalizer removed once counted');
      assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-name'], 'ok');
    }
    const reasons = await ok(['get', 'events', '--field-selector', 'involvedObject.name=ok,involvedObject.kind=Job', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(reasons, /SuccessfulCreate/);
    assert.match(await waitFor(async () => {
      const r = await ok(['get', 'events', '--field-selector', 'involvedObject.name=ok,involvedObject.kind=Job', '-o', 'jsonpath={.items[*].reason}']);
      return r.includes('Completed') ? r : undefined;
    }, { timeoutMs: 30_000, what: 'Completed event' }), /Completed/);
  });

  it('fails past backoffLimit with BackoffLimitExceeded after the pod-failure back-off', async () => {
    await ok(['create', '-f', '-'], jobManifest('bad', { outcome: 'fail', backoffLimit: 1 }));
    await ok(['wait', '--for=condition=failed', 'job/bad', '--timeout=120s']);
    const job = await getJob('bad');
    assert.equal(job.status?.failed, 2);
    assert.equal(job.status?.succeeded ?? 0, 0);
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.reason, 'BackoffLimitExceeded');
    assert.equal(failed?.message, 'Job has reached the specified backoff limit');
    assert.equal(job.status?.conditions?.find((c) => c.type === 'FailureTarget')?.reason, 'BackoffLimitExceeded');
    const pods = (await jobPods(job)).sort((a, b) => Date.parse(a.metadata?.creationTimestamp ?? '') - Date.parse(b.metadata?.creationTimestamp ?? ''));
    assert.equal(pods.length, 2);
    // The second pod waited for the 10 s pod-failure back-off.
    const gap = Date.parse(pods[1]!.metadata?.creationTimestamp ?? '') - Date.parse(pods[0]!.metadata?.creationTimestamp ?? '');
    assert.ok(gap >= 9_000, `second pod created ${gap} ms after the first`);
  });

  it('runs an indexed job: one pod per index with annotation, label, hostname and env', async () => {
    await ok(['create', '-f', '-'], jobManifest('idx', { outcome: 'succeed', completions: 4, parallelism: 4, indexed: true }));
    await ok(['wait', '--for=condition=complete', 'job/idx', '--timeout=120s']);
    const job = await getJob('idx');
    assert.equal(job.status?.completedIndexes, '0-3');
    assert.equal(job.status?.succeeded, 4);
    const pods = await jobPods(job);
    const byIndex = new Map(pods.map((p) => [p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'], p]));
    assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2', '3']);
    for (const [ix, p] of byIndex) {
      assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], ix);
      assert.equal(p.spec?.hostname, `idx-${ix}`);
      assert.match(p.metadata?.name ?? '', new RegExp(`^idx-${ix}-[a-z0-9]{5}$`));
      const env = p.spec?.containers[0]?.env?.find((e) => e.name === 'JOB_COMPLETION_INDEX');
      assert.equal(env?.valueFrom?.fieldRef?.fieldPath, "metadata.annotations['batch.kubernetes.io/job-completion-index']");
    }
  });

  it('suspends and resumes a job', async () => {
    const manifest = JSON.parse(jobManifest('sus', { outcome: 'run', completions: 2, parallelism: 2 })) as Job;
    manifest.spec!.suspend = true;
    await ok(['create', '-f', '-'], JSON.stringify(manifest));
    await waitFor(async () => (await getJob('sus')).status?.conditions?.some((c) => c.type === 'Suspended' && c.status === 'True'), { timeoutMs: 45_000, what: 'Suspended' });
    assert.equal((await jobPods(await getJob('sus'))).length, 0);
    await ok(['patch', 'job/sus', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await waitFor(async () => (await getJob('sus')).status?.active === 2, { timeoutMs: 45_000, what: 'resumed and active' });
    const cond = (await getJob('sus')).status?.conditions?.find((c) => c.type === 'Suspended');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'JobResumed');
    await ok(['delete', 'job/sus']);
  });
});

describe('TTL-after-finished controller', () => {
  it('deletes a finished job and its pods once the TTL passes', async () => {
    await ok(['create', '-f', '-'], jobManifest('short', { outcome: 'succeed', ttl: 2 }));
    await ok(['wait', '--for=condition=complete', 'job/short', '--timeout=120s']);
    const job = await getJob('short');
    const finishedAt = Date.parse(job.status?.conditions?.find((c) => c.type === 'Complete')?.lastTransitionTime ?? '');
    await waitFor(async () => {
      try {
        await getJob('short');
        return false;
      } catch (e) {
        return /not found/.test((e as Error).message);
      }
    }, { timeoutMs: 45_000, what: 'job deleted by TTL' });
    assert.ok(Date.now() - finishedAt >= 1_500, 'not deleted before its TTL');
    await waitFor(async () => (await jobPods(job)).length === 0, { timeoutMs: 45_000, what: 'pods deleted with the job' });
  });
});

describe('CronJob controller', () => {
  let poke = 0;
  /** Moves the controller manager's clock `minutes` ahead and nudges the CronJob so that it syncs at once. */
  async function advance(name: string, minutes: number): Promise<void> {
    clockOffsetMs += minutes * 60_000;
    await ok(['annotate', `cronjob/${name}`, `test/poke=${++poke}`, '--overwrite']);
  }
  const cjClient = (): ReturnType<ApiClient['resource']> => api.resource<CronJob>(cronJobsDef);
  const getCj = (name: string): Promise<CronJob> => cjClient().get(name, { namespace: 'default' }) as Promise<CronJob>;
  const cjJobs = async (cj: CronJob): Promise<Job[]> => (await api.resource<Job>(jobsDef).list({ namespace: 'default' })).items
    .filter((j) => j.metadata?.ownerReferences?.[0]?.uid === cj.metadata?.uid && !j.metadata?.deletionTimestamp);
  const reasons = (name: string): Promise<string> => ok(['get', 'events', '--field-selector', `involvedObject.name=${name},involvedObject.kind=CronJob`, '-o', 'jsonpath={.items[*].reason}']);
  function cronJob(name: string, o: { outcome: PodOutcome; policy?: 'Allow' | 'Forbid' | 'Replace'; successfulLimit?: number }): string {
    const cj: CronJob = {
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace: 'default' },
      spec: {
        schedule: '*/1 * * * *', timeZone: 'Etc/UTC', concurrencyPolicy: o.policy, successfulJobsHistoryLimit: o.successfulLimit,
        jobTemplate: { metadata: { labels: { from: name } }, spec: { template: { metadata: { labels: { 'fake-outcome': o.outcome } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
      },
    };
    return JSON.stringify(cj);
  }

  it('fires each minute, names jobs by scheduled minute, tracks status, keeps the history limit', async () => {
    await ok(['create', '-f', '-'], cronJob('tick', { outcome: 'succeed', successfulLimit: 2 }));
    const cj = await getCj('tick');
    const seen = new Set<string>();
    for (let run = 1; run <= 3; run++) {
      await advance('tick', 1);
      const c = await waitFor(async () => {
        const cur = await getCj('tick');
        const last = cur.status?.lastScheduleTime;
        return last && !seen.has(last) && cur.status?.lastSuccessfulTime && Date.parse(cur.status.lastSuccessfulTime) >= Date.parse(last) ? cur : undefined;
      }, { timeoutMs: 45_000, what: `run ${run}` });
      seen.add(c.status!.lastScheduleTime!);
      const scheduled = Date.parse(c.status!.lastScheduleTime!);
      assert.equal(scheduled % 60_000, 0, 'scheduled on a minute boundary');
      const job = await waitFor(async () => (await cjJobs(cj)).find((j) => j.metadata?.name === `tick-${scheduled / 60_000}`), { timeoutMs: 30_000, what: 'job by name' });
      assert.equal(job.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(scheduled).toISOString().replace('.000Z', 'Z'));
      assert.equal(job.metadata?.labels?.from, 'tick');
      assert.deepEqual(job.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['CronJob', 'tick', true]]);
      await waitFor(async () => ((await getCj('tick')).status?.active ?? []).length === 0 && (await api.resource<Job>(jobsDef).get(job.metadata!.name!, { namespace: 'default' })).status?.succeeded === 1, { timeoutMs: 45_000, what: 'job done and inactive' });
    }
    // Three successful runs, history limit two: the oldest was deleted.
    await waitFor(async () => (await cjJobs(cj)).length === 2, { timeoutMs: 45_000, what: 'history limit' });
    const r = await reasons('tick');
    for (const want of ['SuccessfulCreate', 'SawCompletedJob', 'SuccessfulDelete']) assert.match(r, new RegExp(want));
    await ok(['patch', 'cronjob/tick', '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await advance('tick', 1);
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal((await cjJobs(cj)).length, 2, 'a suspended CronJob starts nothing');
  });

  it('Forbid skips a run while one is active; Replace deletes it and starts the next', async () => {
    await ok(['create', '-f', '-'], cronJob('forbid', { outcome: 'run', policy: 'Forbid' }));
    await ok(['create', '-f', '-'], cronJob('replace', { outcome: 'run', policy: 'Replace' }));
    const forbid = await getCj('forbid');
    const replace = await getCj('replace');
    await advance('forbid', 1);
    await ok(['annotate', 'cronjob/replace', `test/poke=${++poke}`, '--overwrite']);
    await waitFor(async () => ((await getCj('forbid')).status?.active ?? []).length === 1 && ((await getCj('replace')).status?.active ?? []).length === 1, { timeoutMs: 45_000, what: 'first runs' });
    const firstReplace = (await getCj('replace')).status!.active![0]!.name;
    await advance('forbid', 1);
    await ok(['annotate', 'cronjob/replace', `test/poke=${++poke}`, '--overwrite']);
    await waitFor(async () => (await reasons('forbid')).includes('JobAlreadyActive'), { timeoutMs: 45_000, what: 'JobAlreadyActive' });
    assert.equal((await cjJobs(forbid)).length, 1);
    await waitFor(async () => {
      const a = (await getCj('replace')).status?.active ?? [];
      return a.length === 1 && a[0]!.name !== firstReplace;
    }, { timeoutMs: 45_000, what: 'replaced run' });
    await waitFor(async () => !(await cjJobs(replace)).some((j) => j.metadata?.name === firstReplace), { timeoutMs: 45_000, what: 'old run deleted' });
    assert.match(await reasons('replace'), /SuccessfulDelete/);
    await ok(['delete', 'cronjob/forbid', 'cronjob/replace']);
  });

  it('warns about too many missed start times and still runs the most recent one', async () => {
    await ok(['create', '-f', '-'], cronJob('late', { outcome: 'succeed' }));
    await advance('late', 150);
    await waitFor(async () => (await reasons('late')).includes('TooManyMissedTimes'), { timeoutMs: 45_000, what: 'TooManyMissedTimes' });
    // A run at a minute boundary between the create and the clock jump is legitimate and sets an old
    // lastScheduleTime first: wait for the run after the jump, which must be the most recent schedule (a controller
    // that ran the first missed time instead never gets there).
    await waitFor(async () => {
      const last = (await getCj('late')).status?.lastScheduleTime;
      return last !== undefined && Date.now() + clockOffsetMs - Date.parse(last) < 120_000;
    }, { timeoutMs: 45_000, what: 'a run at the most recent schedule, not the first missed one' });
    await ok(['delete', 'cronjob/late']);
  });
});
