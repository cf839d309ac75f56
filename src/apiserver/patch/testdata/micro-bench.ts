/**
 * Micro-benchmark of the patch engines on a Deployment with 10 containers (the bench/apiserver scenario):
 * `node --import tsx src/apiserver/patch/testdata/micro-bench.ts`. Prints ops/s of CPU time; asserts nothing.
 */
import { applyPatch, strategicMergePatch, updateManagedFields } from '../index.ts';

const gvk = { group: 'apps', version: 'v1', kind: 'Deployment' };
const containers = (tag: string): object[] => Array.from({ length: 10 }, (_, i) => ({
  name: `c${i}`, image: `nginx:${tag}`, ports: [{ containerPort: 8000 + i, protocol: 'TCP' }],
  env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], resources: { limits: { cpu: '100m', memory: '64Mi' } },
  volumeMounts: [{ name: 'data', mountPath: '/data' }],
}));
const manifest = (tag: string, replicas: number): Record<string, unknown> => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: containers(tag), volumes: [{ name: 'data', emptyDir: {} }] } } },
});

function bench(name: string, fn: (i: number) => void): void {
  for (let i = 0; i < 200; i++) fn(i);
  const n = 2000;
  // CPU time rather than wall time: the numbers stay meaningful on a shared, loaded machine.
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const used = process.cpuUsage(t0);
  const ms = (used.user + used.system) / 1000;
  process.stdout.write(`${name.padEnd(44)} ${Math.round((n / ms) * 1000)} ops/s  (${((ms / n) * 1000).toFixed(0)} µs/op)\n`);
}

const live = updateManagedFields(null, manifest('1.25', 2), { gvk, manager: 'kubectl-client-side-apply' });
const smpBody = { spec: { replicas: 3, template: { spec: { '$setElementOrder/containers': containers('x').map((_, i) => ({ name: `c${i}` })), containers: [{ name: 'c3', image: 'nginx:1.26' }] } } } };
bench('SMP (strategicMergePatch)', () => void strategicMergePatch(live, smpBody, gvk));
bench('SMP + updateManagedFields', () => {
  const next = strategicMergePatch(live, smpBody, gvk);
  updateManagedFields(live, next, { gvk, manager: 'kubectl-client-side-apply' });
});
const ssaLive = applyPatch(null, manifest('1.25', 2), { gvk, manager: 'kubectl' }).object;
bench('SSA (applyPatch, image change)', (i) => void applyPatch(ssaLive, manifest(i % 2 === 0 ? '1.26' : '1.27', 2), { gvk, manager: 'kubectl' }));
