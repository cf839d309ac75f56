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

/** A local port and the pod port it forwards to. */
export interface Mapping {
  local: number;
  remote: number;
}

/** kubectl's splitPort: `LOCAL:REMOTE`, else the same string for both (a third part is ignored, as kubectl does). */
function splitPort(spec: string): [string, string] {
  const parts = spec.split(':');
  return parts.length === 2 ? [parts[0]!, parts[1]!] : [parts[0]!, parts[0]!];
}

interface ServicePortShape {
  port?: number;
  name?: string;
  targetPort?: number | string;
}

/** The service object port-forward needs (`svc/x`). */
export interface ServiceShape {
  metadata?: { name?: string };
  spec?: { clusterIP?: string; ports?: ServicePortShape[] };
}

function containerPortByName(pod: Pod, name: string): number {
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === name) return p.containerPort;
  throw new CliError(`Pod '${pod.metadata?.name ?? ''}' does not have a named port '${name}'`);
}

/**
 * kubectl's translateServicePortToTargetPort (with a service) or convertPodNamedPortToNumber: rewrites each
 * `[LOCAL:]REMOTE` so that REMOTE is the pod's port number (a service port maps to its targetPort, by number or
 * by the container port's name; a headless service's port is used as is).
 */
export function translatePorts(specs: readonly string[], pod: Pod, svc?: ServiceShape): string[] {
  return specs.map((spec) => {
    let [local, remote] = splitPort(spec);
    if (!svc) {
      const container = /^[+-]?\d+$/.test(remote) ? remote : String(containerPortByName(pod, remote));
      return local !== remote ? `${local}:${container}` : container;
    }
    let portnum: number;
    if (/^[+-]?\d+$/.test(remote)) portnum = Number(remote);
    else {
      const named = (svc.spec?.ports ?? []).find((p) => p.name === remote);
      if (!named) throw new CliError(`Service '${svc.metadata?.name ?? ''}' does not have a named port '${remote}'`);
      portnum = named.port ?? 0;
      if (local === remote) local = String(portnum);
    }
    if (portnum < 0 || portnum > 65535) throw new CliError(`port ${spec} is not a valid port number`);
    const sp = (svc.spec?.ports ?? []).find((p) => p.port === portnum);
    if (!sp) throw new CliError(`Service ${svc.metadata?.name ?? ''} does not have a service port ${portnum}`);
    let container: number;
    if (svc.spec?.clusterIP === 'None') container = portnum;
    else if (typeof sp.targetPort === 'string' && !/^\d+$/.test(sp.targetPort)) container = containerPortByName(pod, sp.targetPort);
    else container = Number(sp.targetPort ?? 0) || (sp.port ?? 0);
    remote = String(container);
    return local !== remote ? `${local}:${remote}` : remote;
  });
}

/** client-go's parsePorts: `[LOCAL:]REMOTE` numbers (an empty LOCAL picks a free port), with its error texts. */
export function parsePortSpecs(specs: readonly string[]): Mapping[] {
  const uint16 = (s: string, what: string): number => {
    if (!/^\d+$/.test(s)) throw new CliError(`error parsing ${what} port '${s}': strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
    const n = Number(s);
    if (n > 65535) throw new CliError(`error parsing ${what} port '${s}': strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
    return n;
  };
  return specs.map((s) => {
    const parts = s.split(':');
    if (parts.length > 2) throw new CliError(`invalid port format '${s}'`);
    const [l, r] = parts.length === 2 ? [parts[0]!, parts[1]!] : [parts[0]!, parts[0]!];
    const local = l === '' ? 0 : uint16(l, 'local');
    const remote = uint16(r, 'remote');
    if (remote === 0) throw new CliError('remote port must be > 0');
    return { local, remote };
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
    const ns = ctx.namespace();
    const [type, name] = target.split('/', 2) as [string, string];
    const r = await ctx.discovery().resolveOne(type);
    let svc: ServiceShape | undefined;
    if (r.group === '' && r.kind === 'Service') {
      svc = (await ctx.rest().request<ServiceShape>({ path: `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}` })).body;
    }
    const pod = await podForObject(ctx, target, ns);
    const mappings = parsePortSpecs(translatePorts(f.args.slice(1), pod, svc));
    if (pod.status?.phase !== 'Running') throw new CliError(`unable to forward port because pod is not running. Current status=${pod.status?.phase ?? ''}`);
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
