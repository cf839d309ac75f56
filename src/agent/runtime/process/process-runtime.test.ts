import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { setLogSink } from '../../../base/log.ts';
import { waitFor } from '../../../base/wait.ts';
import type { ContainerConfig, PodSandboxConfig, TerminalSize } from '../runtime.ts';
import { createProcessRuntime } from './process-runtime.ts';
import type { ProcessRuntime } from './process-runtime.ts';

setLogSink(null);

function sandboxConfig(uid: string): PodSandboxConfig {
  return {
    metadata: { name: uid, namespace: 'default', uid, attempt: 0 }, hostname: uid, logDirectory: '', labels: {},
    annotations: {}, hostNetwork: true, portMappings: [],
  };
}

function containerConfig(dir: string, name: string, command: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    metadata: { name, attempt: 0 }, image: 'none', command, args: [], workingDir: '', envs: [], mounts: [], labels: {},
    annotations: {}, logPath: join(dir, 'logs', `${name}.log`), stdin: false, stdinOnce: false, tty: false, ...extra,
  };
}

/** An AsyncIterable of terminal sizes fed by push(). */
function sizeQueue(): { push(s: TerminalSize): void; end(): void; iter: AsyncIterable<TerminalSize> } {
  const q: TerminalSize[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  return {
    push(s) {
      q.push(s);
      wake?.();
    },
    end() {
      done = true;
      wake?.();
    },
    iter: {
      async *[Symbol.asyncIterator]() {
        while (!done) {
          const s = q.shift();
          if (s) yield s;
          else await new Promise<void>((r) => (wake = r));
        }
      },
    },
  };
}

function collector(): { out: () => string; stream: Writable } {
  let buf = '';
  return {
    out: () => buf,
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        buf += c.toString();
        cb();
      },
    }),
  };
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

interface Rec { id: string; stdinHolderPid?: number; pid?: number }

/** The persisted record files: `<root>/pods/<uid>/sandbox-*.json` and `…/containers/<dir>/container.json`. */
function recordFiles(root: string): { sandboxes: string[]; containers: string[] } {
  const out = { sandboxes: [] as string[], containers: [] as string[] };
  for (const uid of readdirSync(join(root, 'pods'))) {
    const dir = join(root, 'pods', uid);
    for (const f of readdirSync(dir)) if (/^sandbox-.*\.json$/.test(f)) out.sandboxes.push(join(dir, f));
    if (!existsSync(join(dir, 'containers'))) continue;
    for (const c of readdirSync(join(dir, 'containers'))) {
      const f = join(dir, 'containers', c, 'container.json');
      if (existsSync(f)) out.containers.push(f);
    }
  }
  return out;
}

function stateRecord(root: string, id: string): Rec | undefined {
  return recordFiles(root).containers.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Rec).find((c) => c.id === id);
}

describe('process runtime: terminals and attach across restarts', { timeout: 60_000 }, () => {
  let root: string;
  let rt: ProcessRuntime;
  let sb: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'skiff-process-rt-'));
    rt = createProcessRuntime({ rootDir: root, podIP: '127.0.0.1' });
    await rt.start();
    sb = await rt.runPodSandbox(sandboxConfig('pod-a'));
  });

  after(async () => {
    await rt.close({ killContainers: true });
    rmSync(root, { recursive: true, force: true });
  });

  it('resizes the pty of a tty exec: stty size reports the size sent', async () => {
    const id = await rt.createContainer(sb, containerConfig(root, 'sleeper', ['sleep', '600']));
    await rt.startContainer(id);
    const stdin = new PassThrough();
    const out = collector();
    const sizes = sizeQueue();
    const done = rt.exec(id, ['sh'], { stdin, stdout: out.stream, tty: true, resize: sizes.iter });
    sizes.push({ width: 123, height: 45 });
    await waitFor(() => {
      stdin.write('stty size\n');
      return /^45 123\r?$/m.test(out.out());
    }, { timeoutMs: 15_000, intervalMs: 200, what: 'stty size 45 123' });
    // A later resize reaches the same terminal.
    sizes.push({ width: 80, height: 24 });
    await waitFor(() => {
      stdin.write('stty size\n');
      return /^24 80\r?$/m.test(out.out());
    }, { timeoutMs: 15_000, intervalMs: 200, what: 'stty size 24 80' });
    stdin.write('exit 3\n');
    assert.equal(await done, 3);
    sizes.end();
  });

  it('gives a tty container a terminal that attach resizes', async () => {
    const id = await rt.createContainer(sb, containerConfig(root, 'shell', ['sh'], { tty: true, stdin: true }));
    await rt.startContainer(id);
    const stdin = new PassThrough();
    const out = collector();
    const sizes = sizeQueue();
    const abort = new AbortController();
    const attached = rt.attach(id, { stdin, stdout: out.stream, tty: true, resize: sizes.iter, signal: abort.signal });
    sizes.push({ width: 100, height: 30 });
    await waitFor(() => {
      stdin.write('stty size; tty\n');
      return /^30 100\r?$/m.test(out.out()) && /^\/dev\/pts\/\d+\r?$/m.test(out.out());
    }, { timeoutMs: 15_000, intervalMs: 200, what: 'stty size 30 100 on a pty' });
    abort.abort();
    sizes.end();
    await attached;
    await rt.stopContainer(id, { timeoutSeconds: 0 });
    assert.equal((await rt.containerStatus(id))?.state, 'CONTAINER_EXITED');
  });

  it('attaches to a container adopted after a restart: stdin stays open while the agent is away', async () => {
    const script = 'while read l; do echo got:$l; done; echo stdin-eof';
    const keep = await rt.createContainer(sb, containerConfig(root, 'reader', ['sh', '-c', script], { stdin: true }));
    const once = await rt.createContainer(sb, containerConfig(root, 'once', ['sh', '-c', script], { stdin: true, stdinOnce: true }));
    const tty = await rt.createContainer(sb, containerConfig(root, 'term', ['sh'], { stdin: true, tty: true }));
    for (const id of [keep, once, tty]) await rt.startContainer(id);
    // The agent goes away; its writer closes with it.
    await rt.close();
    const [holder, ...holders] = [once, keep, tty].map((id) => stateRecord(root, id)?.stdinHolderPid);
    assert.ok(alive(holder) && holders.every(alive), 'every stdin container has a live stdin holder');
    // Give a container that would see end-of-file time to print it.
    await new Promise((r) => setTimeout(r, 300));
    rt = createProcessRuntime({ rootDir: root, podIP: '127.0.0.1' });
    await rt.start();
    assert.equal((await rt.containerStatus(keep))?.state, 'CONTAINER_RUNNING');
    assert.doesNotMatch(readFileSync(join(root, 'logs', 'reader.log'), 'utf8'), /stdin-eof/);

    // stdin and stdout of the adopted container reach an attach.
    const out = collector();
    const stdin = new PassThrough();
    const abort = new AbortController();
    const attached = rt.attach(keep, { stdin, stdout: out.stream, signal: abort.signal });
    stdin.write('after-restart\n');
    await waitFor(() => out.out().includes('got:after-restart'), { timeoutMs: 10_000, what: 'echo through the adopted stdin' });
    stdin.end();
    abort.abort();
    await attached;
    // stdinOnce=false: the end of a session does not close the container's stdin.
    assert.equal((await rt.containerStatus(keep))?.state, 'CONTAINER_RUNNING');

    // stdinOnce: the first attach's end closes stdin, the container reads end-of-file and the holder goes.
    const out2 = collector();
    const stdin2 = new PassThrough();
    const attached2 = rt.attach(once, { stdin: stdin2, stdout: out2.stream });
    stdin2.write('one\n');
    stdin2.end();
    await attached2;
    assert.match(out2.out(), /got:one\n(.|\n)*stdin-eof/);
    assert.equal((await rt.containerStatus(once))?.state, 'CONTAINER_EXITED');
    await waitFor(() => !alive(holder), { timeoutMs: 5000, what: 'the stdin holder to exit' });

    // The adopted terminal is still resizable.
    const out3 = collector();
    const stdin3 = new PassThrough();
    const sizes = sizeQueue();
    const abort3 = new AbortController();
    const attached3 = rt.attach(tty, { stdin: stdin3, stdout: out3.stream, tty: true, resize: sizes.iter, signal: abort3.signal });
    sizes.push({ width: 77, height: 22 });
    await waitFor(() => {
      stdin3.write('stty size\n');
      return /^22 77\r?$/m.test(out3.out());
    }, { timeoutMs: 15_000, intervalMs: 200, what: 'stty size 22 77 after adoption' });
    abort3.abort();
    sizes.end();
    await attached3;

    for (const id of [keep, tty]) await rt.stopContainer(id, { timeoutSeconds: 1 });
    for (const h of holders) await waitFor(() => !alive(h), { timeoutMs: 5000, what: 'stdin holders to exit with their containers' });
  });

  it('adopts containers recorded in the single state file of earlier versions and moves them to record files', async () => {
    const id = await rt.createContainer(sb, containerConfig(root, 'legacy', ['sleep', '600']));
    await rt.startContainer(id);
    await rt.close();
    // Rewrite the persisted state the way earlier versions kept it: one state.json, no record files.
    const files = recordFiles(root);
    const read = (f: string): unknown => JSON.parse(readFileSync(f, 'utf8'));
    writeFileSync(join(root, 'state.json'), JSON.stringify({ version: 1, sandboxes: files.sandboxes.map(read), containers: files.containers.map(read) }));
    for (const f of [...files.sandboxes, ...files.containers]) rmSync(f);
    rt = createProcessRuntime({ rootDir: root, podIP: '127.0.0.1' });
    await rt.start();
    assert.equal((await rt.containerStatus(id))?.state, 'CONTAINER_RUNNING');
    assert.equal((await rt.podSandboxStatus(sb))?.state, 'SANDBOX_READY');
    assert.equal(existsSync(join(root, 'state.json')), false);
    assert.ok(stateRecord(root, id)?.pid, 'the container has its own record file again');
    await rt.stopContainer(id, { timeoutSeconds: 0 });
    assert.equal((await rt.containerStatus(id))?.state, 'CONTAINER_EXITED');
  });
});
