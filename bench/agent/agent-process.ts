/**
 * Runs `skiff agent` from source in its own process (the composition root's registerAgentCommand), so that
 * benchmarks measure an agent that does not share an event loop with the load driver:
 *   node --import tsx bench/agent/agent-process.ts agent --kubeconfig F --node-name N …
 * SKIFF_BENCH_LOGS=1 keeps the agent's logs; SKIFF_BENCH_STAGES=1 prints only the pod workers' startup stage
 * timings (-v 2 'pod startup stages') as JSON lines on stdout, for the bench's breakdown.
 */
import { Command } from 'commander';
import { registerAgentCommand } from '../../src/cmd/agent.ts';
import { setLogSink, setVerbosity } from '../../src/base/log.ts';

if (process.env['SKIFF_BENCH_STAGES']) {
  setVerbosity(2);
  setLogSink((line) => {
    if (line.includes('"pod startup stages"')) process.stdout.write(line + '\n');
  });
} else if (!process.env['SKIFF_BENCH_LOGS']) setLogSink(null);
const program = new Command('skiff');
registerAgentCommand(program);
await program.parseAsync(process.argv);
