/**
 * Structured logging facade: a constant message plus fields, with Kubernetes-style -v levels.
 * Writes one JSON line per entry to stderr. No other module writes to the console directly.
 */
export type Fields = Record<string, unknown>;

export interface Logger {
  /** Always printed. */
  info(msg: string, fields?: Fields): void;
  /** Always printed, marked as a warning. */
  warn(msg: string, fields?: Fields): void;
  /** Always printed, marked as an error. */
  error(msg: string, fields?: Fields): void;
  /** Printed only when the configured verbosity is at least `level`. */
  v(level: number): Pick<Logger, 'info'>;
  /** A logger whose entries all carry `fields`. */
  with(fields: Fields): Logger;
}

let verbosity = 0;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');
let quiet = false;

/** Sets the global -v level (0 = only important messages). */
export function setVerbosity(level: number): void {
  verbosity = level;
}

/** Replaces the output sink (tests) or silences logging entirely with `null`. */
export function setLogSink(fn: ((line: string) => void) | null): void {
  if (fn === null) quiet = true;
  else {
    quiet = false;
    sink = fn;
  }
}

function emit(level: string, msg: string, base: Fields, fields?: Fields): void {
  if (quiet) return;
  const entry: Fields = { ts: new Date().toISOString(), level, msg, ...base, ...fields };
  for (const [k, v] of Object.entries(entry)) {
    if (v instanceof Error) entry[k] = v.message;
  }
  sink(JSON.stringify(entry));
}

/** Creates a logger for a named component. */
export function logger(component: string, base: Fields = {}): Logger {
  const all: Fields = { component, ...base };
  const self: Logger = {
    info: (msg, f) => emit('info', msg, all, f),
    warn: (msg, f) => emit('warn', msg, all, f),
    error: (msg, f) => emit('error', msg, all, f),
    v: (level) => ({ info: (msg, f) => { if (verbosity >= level) emit('info', msg, all, { v: level, ...f }); } }),
    with: (f) => logger(component, { ...base, ...f }),
  };
  return self;
}
