/**
 * `skiff scheduler`: runs the scheduler alone against a cluster (`--kubeconfig`), as kube-scheduler does.
 */
import type { Command } from 'commander';

/** Registers `skiff scheduler` on the program. */
export function registerSchedulerCommand(program: Command): void {
  program
    .command('scheduler')
    .description('run the scheduler against a cluster (assigns pending pods to nodes)')
    .option('--kubeconfig <path>', 'kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)')
    .option('--config <file>', 'KubeSchedulerConfiguration file (YAML or JSON)')
    .option('--leader-elect <bool>', 'take the kube-system/kube-scheduler Lease before scheduling (overrides the config)', (v: string) => {
      if (v !== 'true' && v !== 'false') throw new Error(`invalid --leader-elect ${JSON.stringify(v)}: must be true or false`);
      return v === 'true';
    })
    .action(async (opts: { kubeconfig?: string; config?: string; leaderElect?: boolean }) => {
      const { startScheduler } = await import('../scheduler/index.ts');
      const ctl = new AbortController();
      const running = await startScheduler({ kubeconfig: opts.kubeconfig, configFile: opts.config, leaderElect: opts.leaderElect, signal: ctl.signal });
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      ctl.abort();
      await running.stop();
    });
}
