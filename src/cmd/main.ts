/**
 * The skiff executable: one binary, subcommands for the control plane, the agent and client verbs.
 * Errors reach the user as one line, never a stack trace.
 */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runBundledVerb } from './cli-bundle.ts';

function defaultDataDir(): string {
  return process.env.SKIFF_DATA_DIR ?? join(homedir(), '.skiff');
}

function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${JSON.stringify(v)}`);
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid count ${JSON.stringify(v)}: must be a positive integer`);
  return n;
}

/** Subcommands that are not client verbs: everything else goes straight to the client CLI. */
const CONTROL_PLANE_COMMANDS = new Set(['server', 'agent', 'scheduler', 'controller-manager', 'snapshot', 'images', 'token', 'proxy', 'help', '--help', '-h', '--skiff-version']);

/** Builds the command tree (the control-plane commands' modules load only here). */
export async function buildProgram(): Promise<Command> {
  const [{ registerSnapshotCommands }, { registerTokenCommands }, { registerAgentCommand, addAgentServiceOptions }, { registerImagesCommands },
    { registerControllerManagerCommand }, { registerClientCommands }, { registerSchedulerCommand }] = await Promise.all([
    import('./snapshot.ts'), import('./token.ts'), import('./agent.ts'), import('./images.ts'),
    import('./controller-manager.ts'), import('./cli.ts'), import('./scheduler.ts'),
  ]);
  const { registerProxyCommand } = await import('./proxy.ts');
  // Loaded here, not at the top: a client verb never needs commander, logging set-up or the server's options.
  const [{ Command }, { setVerbosity }, { SKIFF_VERSION }, { addSecurityServerOptions }] = await Promise.all([
    import('commander'), import('../base/log.ts'), import('../apiserver/version.ts'), import('./server-options.ts'),
  ]);
  const program = new Command('skiff')
    .description('Skiff: a lightweight Kubernetes-compatible cluster')
    .version(SKIFF_VERSION, '--skiff-version', 'print the skiff version')
    .option('-v, --v <level>', 'log verbosity', '0')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  program.hook('preAction', (cmd) => {
    const v = Number(cmd.opts().v ?? 0);
    if (Number.isFinite(v)) setVerbosity(v);
  });
  addAgentServiceOptions(addSecurityServerOptions(program
    .command('server')))
    .description('start the control plane (API server with embedded storage)')
    .option('--data-dir <dir>', 'directory for state, kubeconfig and snapshots', defaultDataDir())
    .option('--port <port>', 'port to listen on (0 = any free port)', portNumber, 6443)
    .option('--bind-address <addr>', 'address to listen on', '127.0.0.1')
    .option('--datastore <url>', 'sqlite:///path/state.db (default, under the data dir) or etcd://host:port[,host:port]')
    .option('--no-agent', 'do not start the embedded node agent')
    .option('--max-requests-inflight <n>', 'requests served at once before answering 429', positiveInt, 600)
    .option('--disable-controller-manager', 'do not run the controller manager in this process')
    .option('--disable-scheduler', 'do not run the scheduler in this process')
    .option('--runtime <kind>', 'runtime of the embedded node agent: runc, process or simulated (default: runc when running as root with runc installed, else process)')
    .option('--snapshot-schedule <cron>', 'take scheduled snapshots (cron expression, e.g. "0 */6 * * *")')
    .option('--snapshot-retention <n>', 'scheduled snapshots to keep', positiveInt, 5)
    .action(async (opts: { dataDir: string; port: number; bindAddress: string; datastore?: string; agent: boolean; maxRequestsInflight: number; snapshotSchedule?: string; snapshotRetention: number; disableControllerManager?: boolean; disableScheduler?: boolean; runtime?: string }) => {
      const rt = opts.runtime;
      if (rt !== undefined && rt !== 'process' && rt !== 'simulated' && rt !== 'runc') throw new Error(`unknown runtime ${JSON.stringify(rt)}: use runc, process or simulated`);
      const { runServer } = await import('./server.ts');
      // Everything was stopped in order; exit now rather than wait on a stray timer or socket.
      process.exit(await runServer({ ...opts, runtime: rt, controllerManager: !opts.disableControllerManager, scheduler: !opts.disableScheduler }));
    });
  registerSnapshotCommands(program);
  registerControllerManagerCommand(program);
  registerSchedulerCommand(program);
  registerTokenCommands(program);
  registerProxyCommand(program);
  registerAgentCommand(program);
  registerImagesCommands(program);
  registerClientCommands(program);
  return program;
}

/** Entry point: runs argv and maps every failure to one line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  // Any control-plane word anywhere means the full program (which also has every client verb); a client verb
  // alone skips it. `skiff` with no arguments prints the full help.
  if (args.length > 0 && !args.some((a) => CONTROL_PLANE_COMMANDS.has(a))) {
    // A client verb (get, apply, …): keep the control plane out of the import graph for a fast start. The built
    // executable has a standalone bundle per verb next to it (scripts/bundle.mjs); from source there is none.
    const code = await runBundledVerb(argv, new URL('./cli-verbs/', import.meta.url));
    if (code !== undefined) {
      process.exitCode = code;
      return;
    }
    const { runCli } = await import('./cli.ts');
    process.exitCode = await runCli(argv);
    return;
  }
  const [program, { CommanderError }] = await Promise.all([buildProgram(), import('commander')]);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${msg.split('\n')[0]}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
