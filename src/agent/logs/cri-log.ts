/**
 * Container logs in the CRI log format (`<RFC3339Nano> <stream> <P|F> <content>` per line), as containerd writes
 * them and the kubelet reads them: a writer with size-based rotation for the runtimes, and a reader that serves
 * `kubectl logs` options (tailLines, sinceTime, limitBytes, timestamps, follow).
 */
import fs from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { Writable } from 'node:stream';
import { sleep } from '../../base/clock.ts';

/** stdout or stderr. */
export type LogStream = 'stdout' | 'stderr';

/** One parsed log entry. */
export interface LogEntry {
  /** The timestamp exactly as written (RFC3339 with 9 fractional digits). */
  timestamp: string;
  /** Milliseconds since the epoch. */
  ms: number;
  stream: LogStream;
  /** True for a full line (content followed by a newline); false for a partial line. */
  full: boolean;
  content: Buffer;
}

let lastNs = 0n;

/** The current time as RFC3339 with nanoseconds, strictly increasing within the process. */
export function nowRfc3339Nano(ms = Date.now()): string {
  let ns = BigInt(ms) * 1_000_000n;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return formatNs(ns);
}

function formatNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().slice(0, 19) + '.' + frac + 'Z';
}

/** Options of a LogWriter. */
export interface LogWriterOptions {
  /** Rotate when the file grows past this size (default 10 MiB, the kubelet's containerLogMaxSize). */
  maxBytes?: number;
  /** Files kept including the current one (default 5, containerLogMaxFiles). */
  maxFiles?: number;
}

const maxLineBytes = 16 * 1024;
let rotations = 0;

/**
 * Appends CRI-format lines for one container. Chunks from each stream are split at newlines; a partial line is
 * held back until its newline arrives or it exceeds 16 KiB (then written as a `P` entry), as containerd does.
 */
export class LogWriter {
  readonly path: string;
  private fd: number;
  private size: number;
  private readonly partial: Record<LogStream, Buffer[]> = { stdout: [], stderr: [] };
  private readonly partialBytes: Record<LogStream, number> = { stdout: 0, stderr: 0 };
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private closed = false;

  constructor(path: string, opts: LogWriterOptions = {}) {
    this.path = path;
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = opts.maxFiles ?? 5;
    fs.mkdirSync(dirname(path), { recursive: true });
    this.fd = fs.openSync(path, 'a');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Records output of `stream`. */
  write(stream: LogStream, chunk: Buffer): void {
    if (this.closed) return;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      const pending = this.partial[stream];
      const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      this.partial[stream] = [];
      this.partialBytes[stream] = 0;
      this.append(stream, 'F', line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partial[stream].push(Buffer.from(rest));
      this.partialBytes[stream] += rest.length;
      if (this.partialBytes[stream] >= maxLineBytes) this.flushPartial(stream);
    }
  }

  /** Writes out held-back partial lines (at container exit). */
  flush(): void {
    this.flushPartial('stdout');
    this.flushPartial('stderr');
  }

  /** Flushes and closes the file. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private flushPartial(stream: LogStream): void {
    if (this.partial[stream].length === 0) return;
    const data = Buffer.concat(this.partial[stream]);
    this.partial[stream] = [];
    this.partialBytes[stream] = 0;
    this.append(stream, 'P', data);
  }

  private append(stream: LogStream, tag: 'P' | 'F', content: Buffer): void {
    const head = Buffer.from(`${nowRfc3339Nano()} ${stream} ${tag} `);
    const line = Buffer.concat([head, content, Buffer.from('\n')]);
    fs.writeSync(this.fd, line);
    this.size += line.length;
    if (this.size >= this.maxBytes) this.rotate();
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    // Names sort in rotation order: time to the millisecond, then a process-wide sequence number.
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/Z$/, '');
    const target = `${this.path}.${stamp}-${String(++rotations).padStart(6, '0')}`;
    fs.renameSync(this.path, target);
    const old = rotatedFiles(this.path);
    for (const f of old.slice(0, Math.max(0, old.length - (this.maxFiles - 1)))) fs.rmSync(f, { force: true });
    this.fd = fs.openSync(this.path, 'a');
    this.size = 0;
  }
}

/** The rotated files of a log, oldest first. */
export function rotatedFiles(path: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dirname(path));
  } catch {
    return [];
  }
  const prefix = basename(path) + '.';
  return names.filter((n) => n.startsWith(prefix) && /^\d{8}T\d{6}/.test(n.slice(prefix.length))).sort().map((n) => join(dirname(path), n));
}

/** Parses one CRI log line (without its newline); undefined when malformed. */
export function parseCriLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(32);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(32, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = line.indexOf(32, s2 + 1);
  const timestamp = line.subarray(0, s1).toString();
  const stream = line.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = s3 < 0 ? line.subarray(s2 + 1).toString() : line.subarray(s2 + 1, s3).toString();
  const ms = Date.parse(timestamp);
  if (!Number.isFinite(ms)) return undefined;
  const content = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  return { timestamp, ms, stream, full: !tag.startsWith('P'), content };
}

/** Options of readLogs (the kubelet's LogOptions). */
export interface ReadLogOptions {
  /** Lines from the end (undefined = all). */
  tailLines?: number;
  /** Only entries at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
  /** Prefix each line with its timestamp. */
  timestamps?: boolean;
  /** Keep streaming new entries until `isDone()` and the file is drained, or the signal aborts. */
  follow?: boolean;
  /** For follow: true once the container has exited (no more output will come). */
  isDone?: () => boolean | Promise<boolean>;
  /** Only one stream (default both). */
  stream?: LogStream;
  signal?: AbortSignal;
  /** Poll interval while following (default 100 ms). */
  pollMs?: number;
}

/**
 * Writes the log at `path` (plus its rotated files) to `out` with the kubelet's semantics. Resolves when done;
 * a missing file is an empty log.
 */
export async function readLogs(path: string, out: Writable, opts: ReadLogOptions = {}): Promise<void> {
  let budget = opts.limitBytes ?? Infinity;
  const emit = (e: LogEntry): boolean => {
    if (opts.stream && e.stream !== opts.stream) return true;
    if (opts.sinceMs !== undefined && e.ms < opts.sinceMs) return true;
    let data = e.full ? Buffer.concat([e.content, Buffer.from('\n')]) : e.content;
    if (opts.timestamps) data = Buffer.concat([Buffer.from(e.timestamp + ' '), data]);
    if (data.length > budget) data = data.subarray(0, budget);
    budget -= data.length;
    if (data.length > 0 && !out.destroyed) out.write(data);
    return budget > 0;
  };

  const files = [...rotatedFiles(path), path];
  const entries: LogEntry[] = [];
  let fd: number | undefined;
  let offset = 0;
  let ino = 0;
  for (const f of files) {
    let data: Buffer;
    if (f === path) {
      try {
        fd = fs.openSync(f, 'r');
      } catch {
        fd = undefined;
      }
      if (fd === undefined) continue;
      const st = fs.fstatSync(fd);
      ino = st.ino;
      data = Buffer.alloc(st.size);
      const n = st.size > 0 ? fs.readSync(fd, data, 0, st.size, 0) : 0;
      data = data.subarray(0, n);
      // Only complete lines are consumed; a trailing fragment is read again when following.
      const last = data.lastIndexOf(10);
      offset = last + 1;
      data = data.subarray(0, offset);
    } else {
      try {
        data = fs.readFileSync(f);
      } catch {
        continue;
      }
    }
    for (const line of splitLines(data)) {
      const e = parseCriLine(line);
      if (e) entries.push(e);
    }
  }
  let start = 0;
  if (opts.tailLines !== undefined && opts.tailLines >= 0) {
    // Count full lines from the end (a partial entry belongs to the line after it).
    let lines = 0;
    start = entries.length;
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i]!.full) {
        if (lines === opts.tailLines) break;
        lines++;
      }
      start = i;
    }
    if (opts.tailLines === 0) start = entries.length;
  }
  for (let i = start; i < entries.length; i++) {
    if (!emit(entries[i]!)) {
      if (fd !== undefined) fs.closeSync(fd);
      return;
    }
  }
  if (!opts.follow) {
    if (fd !== undefined) fs.closeSync(fd);
    return;
  }
  try {
    let carry = Buffer.alloc(0);
    for (;;) {
      if (opts.signal?.aborted || out.destroyed) return;
      if (fd === undefined) {
        try {
          fd = fs.openSync(path, 'r');
          ino = fs.fstatSync(fd).ino;
          offset = 0;
        } catch {
          fd = undefined;
        }
      }
      let progressed = false;
      if (fd !== undefined) {
        const st = fs.fstatSync(fd);
        if (st.size > offset) {
          const buf = Buffer.alloc(st.size - offset);
          const n = fs.readSync(fd, buf, 0, buf.length, offset);
          offset += n;
          const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
          const last = data.lastIndexOf(10);
          carry = Buffer.from(data.subarray(last + 1));
          for (const line of splitLines(data.subarray(0, last + 1))) {
            const e = parseCriLine(line);
            if (e && !emit(e)) return;
          }
          progressed = n > 0;
        } else {
          // Rotated: the old file is drained, continue with the new one.
          let cur: fs.Stats | undefined;
          try {
            cur = fs.statSync(path);
          } catch {
            cur = undefined;
          }
          if (cur && cur.ino !== ino) {
            fs.closeSync(fd);
            fd = undefined;
            carry = Buffer.alloc(0);
            continue;
          }
        }
      }
      if (!progressed) {
        if (opts.isDone && (await opts.isDone())) {
          // One last look: output written just before the exit.
          if (fd !== undefined && fs.fstatSync(fd).size > offset) continue;
          return;
        }
        try {
          await sleep(opts.pollMs ?? 100, { signal: opts.signal });
        } catch {
          return;
        }
      }
    }
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function* splitLines(data: Buffer): Generator<Buffer> {
  let start = 0;
  for (;;) {
    const nl = data.indexOf(10, start);
    if (nl < 0) break;
    yield data.subarray(start, nl);
    start = nl + 1;
  }
}
