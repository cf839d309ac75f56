/**
 * The fast path of a client verb: `[global flags] <verb> args…` runs the verb straight away, without commander.
 * This module must not import the verb table (src/cli/verbs.ts): each verb's standalone bundle (see
 * scripts/bundle.mjs) includes it, and the table would pull every other verb into that bundle.
 */
import type { GlobalOptions } from '../cli/context.ts';
import { globalFlagSpecs, globalsFromFlags, processIO } from '../cli/context.ts';
import { parseFlags } from '../cli/flags.ts';
import type { VerbModule } from '../cli/command.ts';
import { runVerb } from '../cli/command.ts';

/** A verb as the fast path sees it: its name and its (lazily loaded) module. */
export interface DirectVerb {
  name: string;
  load: () => Promise<VerbModule>;
}

/** Global flags that take a value (`-n ns`), so that the value is not taken for the verb. */
export const valueFlags: ReadonlySet<string> = new Set(globalFlagSpecs.filter((f) => f.type !== 'bool').flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));

/**
 * Splits user arguments (argv without node and the script) into valid global flags, a verb found by `lookup`, and
 * the verb's own arguments; undefined when they are not of that shape (help, no verb, an unknown verb, an unknown
 * or malformed global flag), which commander then reports.
 */
export function directVerb<V extends DirectVerb>(args: readonly string[], lookup: (name: string) => V | undefined): { verb: V; globals: GlobalOptions; args: string[] } | undefined {
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--' || a === '-h' || a === '--help') return undefined;
    if (!a.startsWith('-') || a === '-') break;
    if (!a.includes('=') && valueFlags.has(a)) i++;
  }
  const verb = i < args.length ? lookup(args[i]!) : undefined;
  if (!verb) return undefined;
  try {
    const parsed = parseFlags(args.slice(0, i), globalFlagSpecs);
    if (parsed.args.length > 0) return undefined;
    return { verb, globals: globalsFromFlags(parsed.values, parsed.changed), args: args.slice(i + 1) };
  } catch {
    // An unknown or malformed flag before the verb: commander words that error.
    return undefined;
  }
}

/** Runs `verb` when argv (node, script, …) is `[global flags] <verb.name> …`; returns its exit code, else undefined. */
export async function runDirectVerb(argv: readonly string[], verb: DirectVerb): Promise<number | undefined> {
  const direct = directVerb(argv.slice(2), (name) => (name === verb.name ? verb : undefined));
  if (!direct) return undefined;
  return runVerb(verb.name, await verb.load(), direct.args, { globals: direct.globals, io: processIO() });
}
