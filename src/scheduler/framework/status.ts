/**
 * The result of a plugin call (framework.Status). Plugins return `undefined` for Success so that the hot
 * path (thousands of Filter calls per pod) allocates nothing; a Status object is made only on failure.
 */

/** Status codes, spelled as upstream's framework.Code names. */
export type Code = 'Success' | 'Error' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Wait' | 'Skip' | 'Pending';

/** A non-success outcome of a plugin, with the reasons shown to users. */
export class Status {
  readonly code: Code;
  readonly reasons: string[];
  /** The plugin that produced it (set by the framework). */
  plugin: string;
  readonly err: unknown;

  constructor(code: Code, reasons: string[] = [], opts: { plugin?: string; err?: unknown } = {}) {
    this.code = code;
    this.reasons = reasons;
    this.plugin = opts.plugin ?? '';
    this.err = opts.err;
  }

  /** The reasons joined with ", " (Status.Message). */
  message(): string {
    return this.reasons.join(', ');
  }

  /** True for Unschedulable and UnschedulableAndUnresolvable (Status.IsRejected). */
  isRejected(): boolean {
    return this.code === 'Unschedulable' || this.code === 'UnschedulableAndUnresolvable';
  }

  /** Sets the plugin name and returns this status. */
  withPlugin(name: string): Status {
    this.plugin = name;
    return this;
  }
}

/** A plugin result: undefined means Success. */
export type Result = Status | undefined;

/** A new status with one or more reasons. */
export function newStatus(code: Code, ...reasons: string[]): Status {
  return new Status(code, reasons);
}

/** An Error status wrapping `err` (framework.AsStatus). */
export function asStatus(err: unknown): Status {
  return new Status('Error', [err instanceof Error ? err.message : String(err)], { err });
}

/** True when `s` is Success (undefined or code Success). */
export function isSuccess(s: Status | undefined): s is undefined {
  return s === undefined || s.code === 'Success';
}
