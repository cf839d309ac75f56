/**
 * `skiff controller-manager`: runs the controller manager alone against a cluster named by a kubeconfig, until
 * SIGINT or SIGTERM (several may run; a Lease elects the one that acts).
 */
import type { Command } from 'commander';
import { logger } from '../base/log.ts';
import { defaultControllers, startControllerManager } from '../controllers/index.ts';

const log = logger('controller-manager');

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid count ${JSON.stringify(v)}: must be a positive integer`);
  return n;
}

/** Registers the `controller-manager` subcommand on `program`. */
export function registerControllerManagerCommand(program: Command): void {
  program
    .command('controller-manager')
    .description('run the controllers (deployment, replicaset, garbage collector, namespace …) against a cluster')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)')
    .option('--controllers <list>', `controllers to run: names, "*" for the defaults, "-name" to disable one (known: ${defaultControllers.join(', ')})`, '*')
    .option('--no-leader-elect', 'run without campaigning for the kube-system/kube-controller-manager Lease')
    .option('--concurrent-syncs <n>', 'workers per controller', positiveInt, 5)
    .action(async (opts: { kubeconfig?: string; controllers: string; leaderElect: boolean; concurrentSyncs: number }) => {
      const cm = await startControllerManager({
        kubeconfig: opts.kubeconfig,
        controllers: opts.controllers.split(','),
        leaderElect: opts.leaderElect,
        workers: opts.concurrentSyncs,
      });
      log.info('controller manager started', { controllers: cm.controllers });
      await new Promise<void>((resolve) => {
        const done = (): void => resolve();
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await cm.stop();
    });
}
