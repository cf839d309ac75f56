/**
 * Runs `skiff agent` from source in its own process (the composition root's registerAgentCommand), so that
 * benchmarks measure an agent that does not share an event loop with the load driver:
 *   node --import tsx bench/agent/agent-process.ts agent --kubeconfig F --node-name N …
 */
import { Command } from 'commander';
import { registerAgentCommand } from '../../src/cmd/agent.ts';
import { setLogSink } from '../../src/base/log.ts';

if (!process.env['SKIFF_BENCH_LOGS']) setLogSink(null);
const program = new Command('skiff');
registerAgentCommand(program);
await program.parseAsync(process.argv);
