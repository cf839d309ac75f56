/**
 * The flags of `skiff server` that need no heavy imports, so that building the command tree stays cheap for
 * every other subcommand.
 */
import type { Command } from 'commander';

/** Adds the security flags of `skiff server` (the fields of ServerOptions they fill have the same names). */
export function addSecurityServerOptions(cmd: Command): Command {
  return cmd
    .option('--tls-san <name>', 'extra DNS name or IP for the serving certificate (repeatable)', (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter((x) => x !== '')])
    .option('--token-auth-file <file>', 'static bearer tokens: token,user,uid,"group1,group2" per line')
    .option('--authorization-mode <modes>', 'comma-separated authorization modes (Node, RBAC, AlwaysAllow)', 'Node,RBAC')
    .option('--audit-policy-file <file>', 'audit policy (audit.k8s.io/v1 Policy)')
    .option('--audit-log-path <file>', 'where audit events are written (JSON lines)')
    .option('--encryption-provider-config <file>', 'EncryptionConfiguration for secrets at rest');
}

