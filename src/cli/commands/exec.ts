/**
 * `skiff exec`: kubectl exec over the WebSocket remote-command protocol (src/cli/streaming.ts): `POD` or
 * `TYPE/NAME`, -c (default container as kubectl picks it), -i, -t (raw terminal and resize), `--` COMMAND.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { VerbCommand } from '../command.ts';
import { CliError } from '../errors.ts';
import { podForObject } from './logs.ts';

/** `skiff exec`. */
export const command: VerbCommand = {
  use: 'exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]',
  short: 'Execute a command in a container',
  flags: [
    { name: 'container', short: 'c', type: 'string', usage: 'Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen' },
    { name: 'stdin', short: 'i', type: 'bool', usage: 'Pass stdin to the container' },
    { name: 'tty', short: 't', type: 'bool', usage: 'Stdin is a TTY' },
    { name: 'quiet', short: 'q', type: 'bool', usage: 'Only print output from the remote session' },
    { name: 'filename', short: 'f', type: 'stringSlice', usage: 'to use to exec into the resource' },
    { name: 'pod-running-timeout', type: 'duration', default: '1m0s', usage: 'The length of time to wait until at least one pod is running' },
  ],
  async run(ctx, f) {
    const before = f.dashAt >= 0 ? f.args.slice(0, f.dashAt) : f.args.slice(0, 1);
    const cmd = f.dashAt >= 0 ? f.args.slice(f.dashAt) : f.args.slice(1);
    if (before.length === 0) throw new CliError("expected 'exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]'.\nPOD or TYPE/NAME is a required argument for the exec command\nSee 'kubectl exec -h' for help and examples");
    if (cmd.length === 0) throw new CliError('you must specify at least one command for the container');
    const arg = before[0]!.includes('/') ? before[0]! : `pods/${before[0]!}`;
    const pod = await podForObject(ctx, arg, ctx.namespace());
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') throw new CliError(`cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`);
    const container = pickContainer(ctx, pod, String(f.values['container']), f.values['quiet'] === true);
    let tty = f.values['tty'] === true;
    const stdin = f.values['stdin'] === true;
    if (tty && !stdin) {
      if (f.values['quiet'] !== true) ctx.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
      tty = false;
    }
    const query: [string, string][] = cmd.map((c) => ['command', c] as [string, string]);
    query.push(['container', container], ['stdout', 'true']);
    if (stdin) query.push(['stdin', 'true']);
    if (tty) query.push(['tty', 'true']);
    else query.push(['stderr', 'true']);
    const { runRemoteCommand } = await import('../streaming.ts');
    return runRemoteCommand(ctx, `/api/v1/namespaces/${encodeURIComponent(pod.metadata?.namespace ?? '')}/pods/${encodeURIComponent(pod.metadata?.name ?? '')}/exec`, query, { stdin, tty, stderr: !tty });
  },
};

/** The container kubectl uses: -c, else the default-container annotation, else the first (with its notice). */
export function pickContainer(ctx: { err(s: string): void }, pod: Pod, requested: string, quiet: boolean): string {
  if (requested) return requested;
  const app = (pod.spec?.containers ?? []).map((c) => c.name);
  const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && app.includes(annotated)) return annotated;
  const chosen = app[0] ?? '';
  const all = [...app, ...(pod.spec?.initContainers ?? []).map((c) => `${c.name} (init)`), ...(pod.spec?.ephemeralContainers ?? []).map((c) => `${c.name} (ephem)`)];
  if (all.length > 1 && !quiet) ctx.err(`Defaulted container ${JSON.stringify(chosen)} out of: ${all.join(', ')}\n`);
  return chosen;
}
