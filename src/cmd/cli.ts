/**
 * Wires the client verbs (`skiff get`, `skiff config`, …) into the skiff command tree. Commander only routes:
 * each verb takes its raw arguments and parses them itself with kubectl's flag grammar (src/cli/flags.ts), so
 * flags and error messages match kubectl. kubectl's global flags are also accepted before the verb.
 */
import type { Command } from 'commander';
import { verbs } from '../cli/verbs.ts';
import type { GlobalOptions } from '../cli/context.ts';
import { globalFlagSpecs, globalsFromFlags, processIO } from '../cli/context.ts';
import { parseFlags } from '../cli/flags.ts';
import { runVerb } from '../cli/command.ts';
import { directVerb, valueFlags } from './cli-direct.ts';

/** Adds every client verb and kubectl's global flags to `program`; verbs set process.exitCode as kubectl's would be. */
export function registerClientCommands(program: Command): void {
  const known = new Set(program.options.map((o) => o.long));
  for (const f of globalFlagSpecs) {
    if (known.has(`--${f.name}`) || f.name === 'v') continue;
    const short = f.short && !program.options.some((o) => o.short === `-${f.short}`) ? `-${f.short}, ` : '';
    const flags = f.type === 'bool' ? `${short}--${f.name}` : `${short}--${f.name} <value>`;
    if (f.type === 'stringArray') program.option(flags, f.usage ?? '', (v: string, prev: string[] = []) => [...prev, v]);
    else program.option(flags, f.usage ?? '');
  }
  for (const v of verbs) {
    program
      // `__complete` serves the completion scripts and stays out of the help.
      .command(v.name, { hidden: v.name.startsWith('__') })
      .description(v.summary)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]')
      .action(async () => {
        const mod = await v.load();
        const { globals, args } = splitAtVerb(userArgs(program), v.name);
        process.exitCode = await runVerb(v.name, mod, args, { globals, io: processIO() });
      });
  }
}

/**
 * Runs the client verbs alone (no control plane in the import graph): the entry tests and benchmarks bundle.
 * A known verb preceded only by valid global flags runs straight away; anything else (help, no verb, unknown
 * commands or options) goes through commander, loaded only then, for its messages.
 */
export async function runCli(argv: string[]): Promise<number> {
  const fast = directVerb(argv.slice(2), (name) => verbs.find((v) => v.name === name));
  if (fast) {
    const mod = await fast.verb.load();
    return runVerb(fast.verb.name, mod, fast.args, { globals: fast.globals, io: processIO() });
  }
  const { Command, CommanderError } = await import('commander');
  const program = new Command('skiff').exitOverride().configureOutput({ outputError: (s, write) => write(s) });
  program.option('-v, --v <level>', 'log verbosity', '0');
  registerClientCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

function userArgs(program: Command): string[] {
  // commander keeps the argv it parsed (node, script, …user args) on rawArgs; it is not in its typings.
  const raw = (program as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv;
  return raw.length >= 2 && raw[0] === process.argv[0] ? raw.slice(2) : raw.slice();
}

/**
 * Splits the user's argv at the verb: global flags before it are parsed here; everything after it goes to the
 * verb untouched (commander's own reading of options after the verb is ignored, because a verb may give a
 * global flag's name its own meaning, as `config set-cluster --server` does).
 */
function splitAtVerb(argv: string[], verb: string): { globals: GlobalOptions; args: string[] } {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === verb) break;
    if (a.startsWith('-') && !a.includes('=') && valueFlags.has(a)) i++;
  }
  const before = argv.slice(0, i);
  const parsed = parseFlags(before.filter((a) => a !== '--'), globalFlagSpecs);
  return { globals: globalsFromFlags(parsed.values, parsed.changed), args: argv.slice(i + 1) };
}
