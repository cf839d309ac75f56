/**
 * `skiff agent`: joins a cluster as a node (or a simulated fleet of nodes) using a kubeconfig, and runs until
 * SIGTERM/SIGINT.
 */
import type { Command } from 'commander';
import { logger } from '../base/log.ts';
import type { RuntimeKind, StartAgentOptions } from '../agent/index.ts';

const log = logger('agent-cmd');

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid count ${JSON.stringify(v)}: must be a positive integer`);
  return n;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${JSON.stringify(v)}`);
  return n;
}

function runtimeKind(v: string): RuntimeKind {
  if (v !== 'process' && v !== 'simulated' && v !== 'runc') throw new Error(`unknown runtime ${JSON.stringify(v)}: use runc, process or simulated`);
  return v;
}

/** Options parsed from the command line. */
interface AgentCommandOptions {
  kubeconfig?: string;
  nodeName?: string;
  runtime?: RuntimeKind;
  dataDir?: string;
  podCidr?: string;
  nodes: number;
  nodeNamePrefix: string;
  rootDir?: string;
  nodeIp: string;
  port: number;
  killPodsOnExit: boolean;
  simulatedStartDelay: number;
  simulatedCompleteAfter: number;
}

/** Registers `skiff agent` on the program. */
export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the node agent: register a node and run the pods bound to it')
    .option('--kubeconfig <file>', 'kubeconfig to reach the API server (default $KUBECONFIG or ~/.kube/config)')
    .option('--node-name <name>', 'name of the node (default: the host name)')
    .option('--runtime <kind>', 'container runtime: runc, process or simulated (default: runc when running as root with runc installed, else process)', runtimeKind)
    .option('--data-dir <dir>', 'runc: the data dir whose image store `skiff images import --data-dir` fills (default $SKIFF_DATA_DIR or ~/.skiff)')
    .option('--pod-cidr <cidr>', 'runc: the pod subnet (default the Node\'s spec.podCIDR, else 10.42.0.0/24)')
    .option('--nodes <n>', 'simulated runtime: number of nodes to simulate', positiveInt, 1)
    .option('--node-name-prefix <prefix>', 'simulated runtime: prefix of the simulated node names', 'sim-')
    .option('--root-dir <dir>', 'directory for pod state and logs (default ~/.skiff/agent/<node>)')
    .option('--node-ip <ip>', 'the node address reported to the cluster (InternalIP)', '127.0.0.1')
    .option('--port <port>', 'port of the streaming endpoint (logs, exec, port-forward); 0 = any free port', port, 10250)
    .option('--kill-pods-on-exit', 'stop every container when the agent exits (default: keep them for adoption)', false)
    .option('--simulated-start-delay <ms>', 'simulated runtime: delay before a container runs', (v) => Number(v), 0)
    .option('--simulated-complete-after <ms>', 'simulated runtime: run time of Never/OnFailure pods', (v) => Number(v), 5000)
    .action(async (o: AgentCommandOptions) => {
      process.exitCode = await runAgent(o);
    });
}

async function runAgent(o: AgentCommandOptions): Promise<number> {
  const { startAgent, defaultRuntimeKind } = await import('../agent/index.ts');
  const abort = new AbortController();
  const opts: StartAgentOptions = {
    kubeconfig: o.kubeconfig,
    nodeName: o.nodeName,
    runtime: o.runtime ?? (o.nodes > 1 ? 'simulated' : defaultRuntimeKind()),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.podCidr ? { podCIDR: o.podCidr } : {}),
    nodes: o.nodes,
    nodeNamePrefix: o.nodeNamePrefix,
    rootDir: o.rootDir,
    nodeIP: o.nodeIp,
    streamingPort: o.port,
    killPodsOnStop: o.killPodsOnExit,
    simulatedStartDelayMs: o.simulatedStartDelay,
    simulatedCompleteAfterMs: o.simulatedCompleteAfter,
    signal: abort.signal,
  };
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const agent = await startAgent(opts);
  process.stdout.write(`skiff agent running: ${agent.nodeNames.length === 1 ? `node ${agent.nodeNames[0]!}` : `${agent.nodeNames.length} nodes`}, streaming on port ${agent.streamingPort}\n`);
  const sig = await stopSignal;
  log.info('shutting down', { signal: sig });
  abort.abort();
  await agent.stop();
  return 0;
}
