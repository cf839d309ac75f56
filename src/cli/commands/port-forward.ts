/**
 * `skiff port-forward`: kubectl port-forward for pods and `TYPE/NAME` (services map their port to the pod's
 * target port, by number or container port name). Listens on --address (localhost by default) and opens one
 * WebSocket per accepted connection with the port-forward channel protocol (v4.channel.k8s.io: channel 0 data,
 * 1 error, each first carrying the port as little-endian uint16), printing kubectl's `Forwarding from …` and
 * `Handling connection for …` lines. Runs until interrupted.
 */
import net from 'node:net';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { WebSocket } from 'ws';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { podForObject } from './logs.ts';

interface Mapping {
  local: number;
  remote: number;
}

/** Parses `8080:80`, `80`, `:80` into local and remote ports (remote names resolved later). */
export function parsePortSpecs(specs: string[]): { local: number; remote: string }[] {
  return specs.map((s) => {
    const parts = s.split(':');
    if (parts.length > 2) throw new CliError(`invalid port format '${s}'`);
    const [l, r] = parts.length === 2 ? [parts[0]!, parts[1]!] : [parts[0]!, parts[0]!];
    const local = l === '' ? 0 : Number(l);
    if (!Number.isInteger(local) || local < 0 || local > 65535) throw new CliError(`Error parsing local port '${l}': strconv.ParseUint: parsing "${l}": invalid syntax`);
    return { local, remote: r };
  });
}

/** `skiff port-forward`. */
export const command: VerbCommand = {
  use: 'port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]',
  short: 'Forward one or more local ports to a pod',
  flags: [
    { name: 'address', type: 'stringSlice', default: ['localhost'], usage: 'Addresses to listen on (comma separated). Only accepts IP addresses or localhost as a value.' },
    { name: 'pod-running-timeout', type: 'duration', default: '1m0s', usage: 'The length of time to wait until at least one pod is running' },
  ],
  async run(ctx, f) {
    if (f.args.length < 2) throw new CliError('TYPE/NAME and list of ports are required for port-forward\nSee \'kubectl port-forward -h\' for help and examples');
    const target = f.args[0]!.includes('/') ? f.args[0]! : `pods/${f.args[0]!}`;
    const specs = parsePortSpecs(f.args.slice(1));
    const ns = ctx.namespace();
    let servicePorts: { port?: number; name?: string; targetPort?: number | string }[] | undefined;
    const [type, name] = target.split('/', 2) as [string, string];
    const r = await ctx.discovery().resolveOne(type);
    if (r.group === '' && r.kind === 'Service') {
      const svc = (await ctx.rest().request<{ spec?: { ports?: { port?: number; name?: string; targetPort?: number | string }[] } }>({ path: `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}` })).body;
      servicePorts = svc.spec?.ports ?? [];
    }
    const pod = await podForObject(ctx, target, ns);
    if (pod.status?.phase !== 'Running') throw new CliError(`unable to forward port because pod is not running. Current status=${pod.status?.phase ?? ''}`);
    const mappings: Mapping[] = specs.map((s) => ({ local: s.local, remote: resolveRemote(pod, s.remote, servicePorts) }));
    const addresses = (f.values['address'] as string[]).flatMap((a) => (a === 'localhost' ? ['127.0.0.1', '::1'] : [a]));
    const servers: net.Server[] = [];
    for (const m of mappings) {
      for (const addr of addresses) {
        const server = net.createServer((sock) => {
          ctx.out(`Handling connection for ${m.local}\n`);
          forwardConnection(ctx, pod, m.remote, sock);
        });
        try {
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(m.local, addr, () => resolve());
          });
        } catch (e) {
          if (addr === '::1') continue;
          throw new CliError(`unable to listen on port ${m.local}: ${(e as Error).message}`);
        }
        const actual = (server.address() as net.AddressInfo).port;
        if (m.local === 0) m.local = actual;
        ctx.out(`Forwarding from ${addr.includes(':') ? `[${addr}]` : addr}:${actual} -> ${m.remote}\n`);
        servers.push(server);
      }
    }
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        for (const s of servers) s.close();
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};

function resolveRemote(pod: Pod, remote: string, servicePorts: { port?: number; name?: string; targetPort?: number | string }[] | undefined): number {
  let target: number | string = /^\d+$/.test(remote) ? Number(remote) : remote;
  if (servicePorts) {
    const sp = servicePorts.find((p) => p.port === target || p.name === target);
    if (!sp) throw new CliError(`Service does not have a service port ${remote}`);
    target = sp.targetPort ?? sp.port ?? 0;
  }
  if (typeof target === 'number') return target;
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  throw new CliError(`Pod '${pod.metadata?.name ?? ''}' does not have a named port '${target}'`);
}

function forwardConnection(ctx: CliContext, pod: Pod, port: number, sock: net.Socket): void {
  void import('../streaming.ts').then(({ webSocketTarget }) => {
    const { url, options } = webSocketTarget(ctx, `/api/v1/namespaces/${encodeURIComponent(pod.metadata?.namespace ?? '')}/pods/${encodeURIComponent(pod.metadata?.name ?? '')}/portforward`, [['ports', String(port)]]);
    const ws = new WebSocket(url, ['v4.channel.k8s.io'], options);
    const seen = [false, false];
    sock.pause();
    ws.on('open', () => {
      sock.on('data', (d: Buffer) => ws.send(Buffer.concat([Buffer.from([0]), d])));
      sock.on('end', () => ws.close());
      sock.resume();
    });
    ws.on('message', (data: Buffer) => {
      const ch = data[0];
      let payload = data.subarray(1);
      if (ch === 0 || ch === 1) {
        // The first message of each channel carries the port number.
        if (!seen[ch]) {
          seen[ch] = true;
          payload = payload.subarray(2);
        }
        if (payload.length === 0) return;
        if (ch === 0) sock.write(payload);
        else ctx.err(`E portforward: an error occurred forwarding ${port}: ${payload.toString()}\n`);
      }
    });
    ws.on('close', () => sock.end());
    ws.on('error', (e) => {
      ctx.err(`E portforward: error creating forwarding stream for port ${port}: ${e.message}\n`);
      sock.destroy();
    });
    sock.on('error', () => ws.close());
  });
}
