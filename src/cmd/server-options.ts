/**
 * The flags of `skiff server` that need no heavy imports, so that building the command tree stays cheap for
 * every other subcommand.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

/** Adds the security flags of `skiff server` and its --pod-cidr (the fields of ServerOptions they fill have the same names). */
export function addSecurityServerOptions(cmd: Command): Command {
  return cmd
    .option('--tls-san <name>', 'extra DNS name or IP for the serving certificate (repeatable)', (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter((x) => x !== '')])
    .option('--token-auth-file <file>', 'static bearer tokens: token,user,uid,"group1,group2" per line')
    .option('--authorization-mode <modes>', 'comma-separated authorization modes (Node, RBAC, AlwaysAllow)', 'Node,RBAC')
    .option('--audit-policy-file <file>', 'audit policy (audit.k8s.io/v1 Policy)')
    .option('--audit-log-path <file>', 'where audit events are written (JSON lines)')
    .option('--encryption-provider-config <file>', 'EncryptionConfiguration for secrets at rest')
    .option('--pod-cidr <cidr>', 'pod subnet of the embedded node (runc; default: what the cluster CIDR allocator gives the node, 10.42.0.0/24 on a fresh cluster)', podCidr);
}

/** Validates --pod-cidr: an IPv4 CIDR with a prefix of /8 to /30 (commander calls this with the raw value). */
export function podCidr(v: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
  const prefix = Number(m?.[5]);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || prefix < 8 || prefix > 30) {
    throw new InvalidArgumentError(`invalid pod CIDR ${JSON.stringify(v)}: use an IPv4 CIDR such as 10.42.0.0/24`);
  }
  return v;
}

