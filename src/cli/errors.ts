/**
 * How failures reach the user: kubectl's cmdutil.CheckErr wording (`Error from server (NotFound): …`,
 * `The Pod "x" is invalid: …`, `The connection to the server … was refused …`, `error: …`) and exit codes,
 * one message and never a stack trace.
 */
import { ApiError, KubeconfigError } from '../client/index.ts';
import { FlagError } from './flags.ts';

/** A failure already worded for the user; `exitCode` defaults to 1. `raw` prints the message without `error: `. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  readonly raw: boolean;

  constructor(message: string, opts: { exitCode?: number; raw?: boolean } = {}) {
    super(message);
    this.exitCode = opts.exitCode ?? 1;
    this.raw = opts.raw ?? false;
  }
}

/** Several errors reported together, one line each (kubectl's utilerrors.Aggregate). */
export class MultiError extends Error {
  override name = 'AggregateError';
  readonly errors: unknown[];

  constructor(errors: unknown[]) {
    super(errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'));
    this.errors = errors;
  }
}

/** The text kubectl prints for `e` (without a trailing newline) and the exit code. */
export function describeError(e: unknown, opts: { command?: string } = {}): { message: string; exitCode: number } {
  if (e instanceof MultiError) {
    if (e.errors.length === 1) return describeError(e.errors[0], opts);
    return { message: e.errors.map((x) => messageFor(x)).join('\n'), exitCode: 1 };
  }
  if (e instanceof FlagError) {
    if (e.message.startsWith('unknown command ')) {
      return { message: `error: ${e.message.replace(/ for ".*"$/, '')}\nSee '${opts.command ?? 'skiff'} -h' for help and examples`, exitCode: 1 };
    }
    return { message: `Error: ${e.message}\nSee '${opts.command ?? 'skiff'} --help' for usage.`, exitCode: 1 };
  }
  if (e instanceof CliError) {
    return { message: e.raw ? e.message : withErrorPrefix(e.message), exitCode: e.exitCode };
  }
  if (e instanceof ApiError && (e.reason === 'Invalid' || (e.reason === '' && e.code === 422))) {
    const d = e.details;
    let s = 'The request is invalid';
    if (!d) return { message: s, exitCode: 1 };
    if (d.kind || d.name) s = `The ${d.kind ?? ''} ${JSON.stringify(d.name ?? '')} is invalid`;
    const causes = d.causes ?? [];
    if (causes.length === 0) return { message: s, exitCode: 1 };
    const seen = new Set<string>();
    const msgs: string[] = [];
    for (const c of causes) {
      const m = `${c.field ?? ''}: ${c.message ?? ''}`;
      if (seen.has(m)) continue;
      seen.add(m);
      msgs.push(m);
    }
    if (msgs.length === 1) return { message: `${s}: ${msgs[0]}`, exitCode: 1 };
    return { message: `${s}: \n${msgs.map((m) => `* ${m}`).join('\n')}`, exitCode: 1 };
  }
  if (e instanceof KubeconfigError) {
    const m = e.message;
    if (m.startsWith('invalid configuration:')) return { message: `Error in configuration: ${m.replace(/^invalid configuration: /, '')}`, exitCode: 1 };
    return { message: withErrorPrefix(m), exitCode: 1 };
  }
  return { message: messageFor(e), exitCode: 1 };
}

function messageFor(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.reason === 'Unauthorized') return `error: You must be logged in to the server (${e.message})`;
    if (e.reason) return `Error from server (${e.reason}): ${e.message}`;
    return `Error from server: ${e.message}`;
  }
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number; serverUrl?: string };
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    const host = err.serverUrl ? new URL(err.serverUrl).host : err.address !== undefined ? `${err.address}:${err.port ?? ''}` : 'the server';
    if (err.code === 'ECONNREFUSED') return `The connection to the server ${host} was refused - did you specify the right host or port?`;
    if (['ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(err.code)) {
      return `Unable to connect to the server: ${err.message}`;
    }
    if (err.code.startsWith('ERR_TLS') || err.code.includes('CERT') || err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
      return `Unable to connect to the server: tls: ${err.message}`;
    }
  }
  const msg = e instanceof Error ? e.message : String(e);
  return withErrorPrefix(msg);
}

function withErrorPrefix(m: string): string {
  return m.startsWith('error: ') ? m : `error: ${m}`;
}
