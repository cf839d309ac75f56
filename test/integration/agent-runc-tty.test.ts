/**
 * Terminals on the runc runtime with real runc: a tty exec honours the resize channel (`stty size` inside reports
 * each size sent), and attach — output, stdin and resizes — works on containers that a new runtime instance adopted
 * after the old one stopped (the container kept running meanwhile).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setLogSink } from '../../src/base/log.ts';
import { openImageStore } from '../../src/agent/images/store.ts';
import type { ImageStore } from '../../src/agent/images/store.ts';
import { createRuncRuntime } from '../../src/agent/runtime/runc/runc-runtime.ts';
import type { RuncRuntime } from '../../src/agent/runtime/runc/runc-runtime.ts';
import type { RuncContainerConfig } from '../../src/agent/runtime/runc/spec.ts';
import type { PodSandboxConfig, TerminalSize } from '../../src/agent/runtime/runtime.ts';
import { busyboxImage, containerToolsMissing, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';
import { waitFor } from './helpers/runc-test.ts';

setLogSink(null);
const skip = containerToolsMissing();

/** An async iterable of terminal sizes fed by `push`, ended by `end` (the resize channel of one session). */
function resizeQueue(): { sizes: AsyncIterable<TerminalSize>; push: (s: TerminalSize) => void; end: () => void } {
  const queued: TerminalSize[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    sizes: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (queued.length > 0) yield queued.shift()!;
          if (ended) return;
          await new Promise<void>((r) => (wake = r));
        }
      },
    },
    push: (s) => {
      queued.push(s);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
  };
}

/** A shell session's output collector: asks `stty size` until the terminal reports `rows cols`. */
async function expectSize(stdin: PassThrough, output: () => string, size: TerminalSize): Promise<void> {
  const want = `${size.height} ${size.width}`;
  await waitFor(() => {
    if (output().includes(`size=${want}`)) return true;
    stdin.write('echo "size=$(stty size)"\n');
    return undefined;
  }, { timeoutMs: 20_000, what: () => `stty size to report ${want}; output so far: ${JSON.stringify(output().slice(-300))}` });
}

describe('runc terminals: resize and attach after adoption', { skip, concurrency: false }, () => {
  let reg: TestRegistry;
  let dir: string;
  let store: ImageStore;
  let rt: RuncRuntime;
  let image: string;
  let sandboxId = '';
  const cgroupParent = `skiff-tty-test-${process.pid}`;
  const newRuntime = (): RuncRuntime => createRuncRuntime({ dataDir: join(dir, 'runtime'), imageStore: store, hostIP: '127.0.0.1', cgroupParent });
  const container = (name: string, over: Partial<RuncContainerConfig> = {}): RuncContainerConfig => ({
    metadata: { name, attempt: 0 }, image, command: [], args: [], workingDir: '', envs: [], mounts: [], labels: { c: name }, annotations: {},
    logPath: join(dir, 'logs', `${name}.log`), stdin: false, stdinOnce: false, tty: false, ...over,
  });
  const sandbox = (name: string): PodSandboxConfig => ({
    metadata: { name, namespace: 'default', uid: `uid-${name}-${process.pid}`, attempt: 0 },
    hostname: name, logDirectory: join(dir, 'logs', name), labels: { app: name }, annotations: {}, hostNetwork: true, portMappings: [],
  });

  before(async () => {
    reg = await startRegistry();
    await reg.push('test/busybox', 'v1', busyboxImage());
    image = `${reg.host}/test/busybox:v1`;
    dir = fs.mkdtempSync(join(tmpdir(), 'skiff-runc-tty-'));
    store = openImageStore(join(dir, 'images'));
    rt = newRuntime();
    await rt.start();
    await rt.pullImage(image);
    sandboxId = await rt.runPodSandbox(sandbox('tty'));
  });

  after(async () => {
    await rt?.close({ killContainers: true });
    await reg?.stop();
    for (const h of fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup') : []) {
      try {
        fs.rmdirSync(join('/sys/fs/cgroup', h, cgroupParent));
      } catch {
        // not created in this hierarchy
      }
    }
    if (dir) {
      const left = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
      assert.deepEqual(left, [], 'no mount left');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a tty exec takes the size sent on the resize channel, first and later', async () => {
    const id = await rt.createContainer(sandboxId, container('sleeper', { command: ['sleep', '1000'] }));
    await rt.startContainer(id);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    const q = resizeQueue();
    // kubectl sends the first size right after connecting, before the shell exists.
    q.push({ width: 123, height: 45 });
    const code = rt.exec(id, ['sh'], { stdin, stdout, tty: true, resize: q.sizes });
    await expectSize(stdin, () => out, { width: 123, height: 45 });
    q.push({ width: 77, height: 19 });
    await expectSize(stdin, () => out, { width: 77, height: 19 });
    stdin.write('exit 3\n');
    assert.equal(await code, 3);
    q.end();
    await rt.stopContainer(id, { timeoutSeconds: 0 });
    await rt.removeContainer(id);
  });

  test('attach to a tty container adopted by a new runtime: output, stdin and resize', async () => {
    const id = await rt.createContainer(sandboxId, container('shell', { command: ['sh'], stdin: true, tty: true }));
    await rt.startContainer(id);
    const before1 = await rt.containerStatus(id);
    await rt.close();
    rt = newRuntime();
    await rt.start();
    const adopted = await rt.containerStatus(id);
    assert.equal(adopted?.state, 'CONTAINER_RUNNING');
    assert.equal(adopted?.startedAt, before1?.startedAt, 'adopted, not restarted');

    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    const q = resizeQueue();
    q.push({ width: 101, height: 33 });
    const ac = new AbortController();
    const attached = rt.attach(id, { stdin, stdout, tty: true, resize: q.sizes, signal: ac.signal });
    stdin.write('echo "sum=$((40+2))"\n');
    await waitFor(() => out.includes('sum=42'), { what: () => `the shell's answer through attach; output: ${JSON.stringify(out.slice(-300))}` });
    await expectSize(stdin, () => out, { width: 101, height: 33 });
    q.push({ width: 88, height: 22 });
    await expectSize(stdin, () => out, { width: 88, height: 22 });
    ac.abort();
    q.end();
    await attached;
    const st = await rt.containerStatus(id);
    assert.equal(st?.state, 'CONTAINER_RUNNING', 'detaching leaves the container running');
    await rt.stopContainer(id, { timeoutSeconds: 0 });
    await rt.removeContainer(id);
  });

  test('attach with stdin to a non-tty container adopted by a new runtime', async () => {
    const id = await rt.createContainer(sandboxId, container('reader', {
      command: ['sh', '-c', 'while read line; do echo "got:$line"; echo "err:$line" >&2; done'], stdin: true,
    }));
    await rt.startContainer(id);
    await rt.close();
    rt = newRuntime();
    await rt.start();
    assert.equal((await rt.containerStatus(id))?.state, 'CONTAINER_RUNNING');
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const ac = new AbortController();
    const attached = rt.attach(id, { stdin, stdout, stderr, signal: ac.signal });
    stdin.write('hello\n');
    await waitFor(() => out.includes('got:hello') && err.includes('err:hello'), { what: () => `echoes; stdout ${JSON.stringify(out)} stderr ${JSON.stringify(err)}` });
    ac.abort();
    await attached;
    await rt.stopContainer(id, { timeoutSeconds: 0 });
    await rt.removeContainer(id);
  });

  test('stdinOnce: the end of the first attach\'s stdin is the container\'s end-of-file, also after adoption', async () => {
    const id = await rt.createContainer(sandboxId, container('once', { command: ['sh', '-c', 'cat; echo "eof seen"; exit 4'], stdin: true, stdinOnce: true }));
    await rt.startContainer(id);
    await rt.close();
    rt = newRuntime();
    await rt.start();
    assert.equal((await rt.containerStatus(id))?.state, 'CONTAINER_RUNNING', 'the agent\'s exit is no end-of-file');
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    const attached = rt.attach(id, { stdin, stdout });
    stdin.end('last words\n');
    await attached;
    const st = await waitFor(async () => {
      const s = await rt.containerStatus(id);
      return s?.state === 'CONTAINER_EXITED' ? s : undefined;
    }, { what: 'the container to exit on end-of-file' });
    assert.equal(st.exitCode, 4);
    assert.match(out, /last words\n(.|\n)*eof seen/);
    await rt.removeContainer(id);
  });
});
