/**
 * `skiff attach`: kubectl attach to a running container's stdio over the WebSocket remote-command protocol
 * (-c, -i, -t), `POD` or `TYPE/NAME`.
 */
import type { VerbCommand } from '../command.ts';
import { CliError } from '../errors.ts';
import { podForObject } from './logs.ts';
import { pickContainer } from './exec.ts';

/** `skiff attach`. */
export const command: VerbCommand = {
  use: 'attach (POD | TYPE/NAME) -c CONTAINER',
  short: 'Attach to a running container',
  flags: [
    { name: 'container', short: 'c', type: 'string', usage: 'Container name.' },
    { name: 'stdin', short: 'i', type: 'bool', usage: 'Pass stdin to the container' },
    { name: 'tty', short: 't', type: 'bool', usage: 'Stdin is a TTY' },
    { name: 'quiet', short: 'q', type: 'bool', usage: 'Only print output from the remote session' },
    { name: 'pod-running-timeout', type: 'duration', default: '1m0s', usage: 'The length of time to wait until at least one pod is running' },
  ],
  async run(ctx, f) {
    if (f.args.length !== 1) throw new CliError("expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw 0: []\nSee 'kubectl attach -h' for help and examples");
    const arg = f.args[0]!.includes('/') ? f.args[0]! : `pods/${f.args[0]!}`;
    const pod = await podForObject(ctx, arg, ctx.namespace());
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') throw new CliError(`cannot attach a container in a completed pod; current phase is ${pod.status.phase}`);
    const container = pickContainer(ctx, pod, String(f.values['container']), f.values['quiet'] === true);
    const stdin = f.values['stdin'] === true;
    const tty = f.values['tty'] === true && stdin;
    if (f.values['quiet'] !== true && !tty) ctx.err('If you don\'t see a command prompt, try pressing enter.\n');
    const query: [string, string][] = [['container', container], ['stdout', 'true']];
    if (stdin) query.push(['stdin', 'true']);
    if (tty) query.push(['tty', 'true']);
    else query.push(['stderr', 'true']);
    const { runRemoteCommand } = await import('../streaming.ts');
    return runRemoteCommand(ctx, `/api/v1/namespaces/${encodeURIComponent(pod.metadata?.namespace ?? '')}/pods/${encodeURIComponent(pod.metadata?.name ?? '')}/attach`, query, { stdin, tty, stderr: !tty });
  },
};
