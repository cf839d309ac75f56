// Container runtime benchmark (issue 8): the runc runtime in process, image present (imported), one network
// namespace per pod through CNI. Measures pod start latency (runPodSandbox + createContainer + startContainer →
// running) for pods created at a fixed rate, the time to the first running pod from a fresh runtime, the agent
// process's RSS with all pods running, and teardown. Prints a table; never asserts on times. Needs root.
//   node --import tsx bench/containers/runtime-bench.ts [--pods 100] [--rate 20]
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogSink } from '../../src/base/log.ts';
import { importArchive } from '../../src/agent/images/archive.ts';
import { ociArchive } from '../../src/agent/images/build.ts';
import { openImageStore } from '../../src/agent/images/store.ts';
import { createRuncRuntime } from '../../src/agent/runtime/runc/runc-runtime.ts';
import { busyboxImage } from '../../test/integration/helpers/registry.ts';

setLogSink(null);
const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const PODS = arg('pods', 100);
const RATE = arg('rate', 20);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const dir = fs.mkdtempSync(join(tmpdir(), 'skiff-bench-runc-'));
const cgroupParent = `skiff-bench-${process.pid}`;
const rows: [string, string, string][] = [];
try {
  const store = openImageStore(join(dir, 'images'));
  const tar = join(dir, 'busybox.tar');
  fs.writeFileSync(tar, ociArchive(busyboxImage(), 'bench.local/busybox:1'));
  let t = performance.now();
  await importArchive(store, tar);
  rows.push(['image import (busybox, 1 layer)', `${(performance.now() - t).toFixed(0)} ms`, '']);

  t = performance.now();
  const rt = createRuncRuntime({ dataDir: join(dir, 'rt'), imageStore: store, hostIP: '127.0.0.1', cgroupParent, network: { podCIDR: '10.251.0.0/16' } });
  await rt.start();
  const pod = async (i: number): Promise<number> => {
    const t0 = performance.now();
    const sb = await rt.runPodSandbox({ metadata: { name: `p${i}`, namespace: 'bench', uid: `u${i}`, attempt: 0 }, hostname: `p${i}`, logDirectory: join(dir, 'logs'), labels: {}, annotations: {}, hostNetwork: false, portMappings: [] });
    const id = await rt.createContainer(sb, { metadata: { name: 'c', attempt: 0 }, image: 'bench.local/busybox:1', command: ['sleep', '3600'], args: [], workingDir: '', envs: [], mounts: [], labels: {}, annotations: {}, logPath: join(dir, 'logs', `p${i}.log`), stdin: false, stdinOnce: false, tty: false });
    await rt.startContainer(id);
    return performance.now() - t0;
  };
  const first = await pod(0);
  rows.push(['first running pod from a fresh runtime', `${(performance.now() - t).toFixed(0)} ms`, 'target ≤ 3 s (incl. server start, not measured here)']);
  rows.push(['  of which the pod itself', `${first.toFixed(0)} ms`, '']);

  const lat: number[] = [];
  const started: Promise<void>[] = [];
  const t1 = performance.now();
  for (let i = 1; i <= PODS; i++) {
    const due = t1 + ((i - 1) * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    started.push(pod(i).then((ms) => void lat.push(ms)));
  }
  await Promise.all(started);
  rows.push([`pod start latency, ${PODS} pods at ${RATE}/s: p50`, `${pct(lat, 50).toFixed(0)} ms`, '']);
  rows.push(['  p99', `${pct(lat, 99).toFixed(0)} ms`, 'target p99 ≤ 1 s (Kubernetes SLO ≤ 5 s)']);
  rows.push([`pods running on one node`, `${PODS + 1}`, 'target 110']);
  rows.push([`runtime process RSS with ${PODS + 1} pods`, `${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`, '']);

  t = performance.now();
  await rt.close({ killContainers: true });
  rows.push([`teardown of ${PODS + 1} pods`, `${(performance.now() - t).toFixed(0)} ms`, '']);
} finally {
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    try {
      fs.rmdirSync(join('/sys/fs/cgroup', h, cgroupParent));
    } catch {
      // absent
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v, note] of rows) process.stdout.write(`${k.padEnd(w)}  ${v.padStart(9)}  ${note}\n`);
