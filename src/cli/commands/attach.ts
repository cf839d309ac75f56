/**
 * `skiff attach`: kubectl attach to a running container's stdio over the WebSocket remote-command protocol
 * (-c, -i, -t), `POD` or `TYPE/NAME`. `attachToPod` is kubectl's AttachOptions.Run, shared with `run --attach`.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { podForObject } from './logs.ts';
import { pickContainer } from './exec.ts';

/**
 * Attaches to a container of `pod` as kubectl's AttachOptions.Run does (TTY negotiation with the container spec
 * and the local terminal, the prompt hint, the re-attach hint after a raw session); rejects when the session
 * cannot be opened or the server reports a failure.
 */
export async function attachToPod(ctx: CliContext, pod: Pod, o: { container: string; stdin: boolean; tty: boolean; quiet: boolean; commandName: string }): Promise<void> {
  const container = pickContainer(ctx, pod, o.container, o.quiet);
  const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].find((c) => c.name === container);
  let tty = o.tty;
  if (tty && spec && !spec.tty) {
    tty = false;
    if (!o.quiet) ctx.err(`error: Unable to use a TTY - container ${container} did not allocate one\n`);
  } else if (!tty && spec?.tty) {
    // A container started with a TTY only speaks the TTY framing.
    tty = true;
  }
  let raw = false;
  if (!o.stdin) tty = false;
  else if (tty) {
    if (ctx.io.stdin.isTTY) raw = true;
    else if (!o.quiet) ctx.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
  }
  if (!o.quiet) ctx.err('If you don\'t see a command prompt, try pressing enter.\n');
  const query: [string, string][] = [['container', container]];
  if (o.stdin) query.push(['stdin', 'true']);
  query.push(['stdout', 'true']);
  if (!raw) query.push(['stderr', 'true']);
  if (raw) query.push(['tty', 'true']);
  const { streamRemoteCommand } = await import('../streaming.ts');
  const r = await streamRemoteCommand(ctx, `/api/v1/namespaces/${encodeURIComponent(pod.metadata?.namespace ?? '')}/pods/${encodeURIComponent(pod.metadata?.name ?? '')}/attach`, query, { stdin: o.stdin, tty: raw, stderr: !raw });
  if (r.failure !== undefined) throw new CliError(r.failure);
  if (!o.quiet && o.stdin && raw && pod.spec?.restartPolicy === 'Always') {
    ctx.out(`Session ended, resume using '${o.commandName} ${pod.metadata?.name ?? ''} -c ${container} -i -t' command when the pod is running\n`);
  }
}

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
    await attachToPod(ctx, pod, {
      container: String(f.values['container']),
      stdin: f.values['stdin'] === true,
      tty: f.values['tty'] === true,
      quiet: f.values['quiet'] === true,
      commandName: ctx.commandPath,
    });
  },
};
