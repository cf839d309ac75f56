/**
 * The verb contract and the runner: each verb module exports a `VerbCommand` (its flags and `run`), or a table of
 * subcommands (`config view`, `create deployment`…). The runner parses flags with pflag semantics (global flags
 * allowed anywhere), builds the CliContext, prints help, and turns every failure into kubectl's message and
 * exit code.
 */
import type { FlagSpec, ParsedFlags } from './flags.ts';
import { FlagError, parseFlags } from './flags.ts';
import type { CliIO, GlobalOptions } from './context.ts';
import { CliContext, globalFlagSpecs, globalsFromFlags } from './context.ts';
import { describeError } from './errors.ts';

/** One runnable command. */
export interface VerbCommand {
  /** `get [(-o|--output=)json|yaml|…] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]` */
  use: string;
  short: string;
  flags: readonly FlagSpec[];
  /** Runs with parsed flags; throws on failure; returns the exit code (default 0). */
  run(ctx: CliContext, flags: ParsedFlags): Promise<number | void>;
}

/** A verb with subcommands (`config`, `create`, `rollout`…); `default` runs when no subcommand matches. */
export interface VerbGroup {
  use: string;
  short: string;
  subcommands: Record<string, VerbCommand>;
  default?: VerbCommand;
}

/** A verb module's export. */
export type VerbModule = { command: VerbCommand | VerbGroup };

/** Runs a verb module with raw argv (after the verb name) and returns the process exit code. */
export async function runVerb(
  name: string,
  mod: VerbModule,
  argv: readonly string[],
  opts: { globals?: GlobalOptions; io: CliIO; program?: string },
): Promise<number> {
  const program = opts.program ?? 'skiff';
  let commandPath = `${program} ${name}`;
  let ctx: CliContext | undefined;
  try {
    let cmd: VerbCommand;
    let rest = [...argv];
    const c = mod.command;
    if ('subcommands' in c) {
      const idx = firstPositional(rest);
      const sub = idx >= 0 ? c.subcommands[rest[idx]!] : undefined;
      if (sub) {
        commandPath += ` ${rest[idx]!}`;
        rest.splice(idx, 1);
        cmd = sub;
      } else if (c.default) {
        cmd = c.default;
      } else {
        if (rest.includes('-h') || rest.includes('--help') || idx < 0) {
          opts.io.stdout.write(groupHelp(commandPath, c));
          return 0;
        }
        throw new FlagError(`unknown command ${JSON.stringify(rest[idx])} for ${JSON.stringify(commandPath)}`);
      }
    } else {
      cmd = c;
    }
    if (rest.includes('-h') || rest.includes('--help')) {
      const dash = rest.indexOf('--');
      const h = Math.max(rest.indexOf('-h'), rest.indexOf('--help'));
      if (dash < 0 || h < dash) {
        opts.io.stdout.write(commandHelp(commandPath, cmd));
        return 0;
      }
    }
    const own = new Set(cmd.flags.map((f) => f.name));
    const specs = [...cmd.flags, ...globalFlagSpecs.filter((g) => !own.has(g.name) && !cmd.flags.some((f) => f.short && f.short === g.short))];
    const parsed = parseFlags(rest, specs);
    // A verb's own flag that shares a global's name (`create rolebinding --user`) is not the global.
    const globalChanged = new Set([...parsed.changed].filter((n) => !own.has(n)));
    const globals: GlobalOptions = { ...opts.globals, ...globalsFromFlags(parsed.values, globalChanged) };
    ctx = new CliContext(globals, opts.io, { commandPath });
    const code = await cmd.run(ctx, parsed);
    return code ?? 0;
  } catch (e) {
    annotateConnectionError(e, ctx);
    const { message, exitCode } = describeError(e, { command: commandPath });
    if (message !== '') opts.io.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
    return exitCode;
  } finally {
    ctx?.close();
  }
}

function annotateConnectionError(e: unknown, ctx: CliContext | undefined): void {
  if (!ctx || !e || typeof e !== 'object' || !('code' in e)) return;
  try {
    (e as { serverUrl?: string }).serverUrl = ctx.clientConfig().server;
  } catch {
    // No configuration: the error is about that, not the connection.
  }
}

const valueGlobals = new Set(globalFlagSpecs.filter((f) => f.type !== 'bool').flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));

function firstPositional(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return -1;
    if (a.startsWith('-')) {
      if (!a.includes('=') && valueGlobals.has(a)) i++;
      continue;
    }
    return i;
  }
  return -1;
}

function commandHelp(path: string, cmd: VerbCommand): string {
  const lines = [cmd.short, '', 'Options:'];
  for (const f of cmd.flags) {
    const name = f.short ? `-${f.short}, --${f.name}` : `    --${f.name}`;
    const def = f.default !== undefined && f.default !== '' && f.type !== 'bool' ? `=${Array.isArray(f.default) ? `[${f.default.join(',')}]` : String(f.default)}` : f.type === 'bool' && f.default === true ? '=true' : '';
    lines.push(`    ${name}${def}:`, `\t${f.usage ?? ''}`, '');
  }
  lines.push('Usage:', `  ${path.split(' ')[0]} ${cmd.use}`, '', `Use "${path.split(' ')[0]} options" for a list of global command-line options (applies to all commands).`, '');
  return lines.join('\n');
}

function groupHelp(path: string, g: VerbGroup): string {
  const names = Object.keys(g.subcommands);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = [g.short, '', 'Available Commands:'];
  for (const n of names) lines.push(`  ${n.padEnd(width)}${g.subcommands[n]!.short.split('\n')[0]}`);
  lines.push('', 'Usage:', `  ${path} [flags] [options]`, '', `Use "${path} <command> --help" for more information about a given command.`, '');
  return lines.join('\n');
}
