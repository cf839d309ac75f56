/**
 * `skiff auth can-i` (SelfSubjectAccessReview, `yes`/`no` with exit code 0/1, --list through
 * SelfSubjectRulesReview, --quiet, --subresource, non-resource URLs) and `skiff auth whoami`
 * (SelfSubjectReview as kubectl's ATTRIBUTE/VALUE table, or -o).
 */
import type { VerbCommand, VerbGroup } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject } from '../printers/objects.ts';
import { tabwrite } from '../printers/tabwriter.ts';

const KNOWN_VERBS = new Set(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'use', 'bind', 'impersonate', '*', 'approve', 'sign', 'escalate', 'attest']);

async function resolveResource(ctx: CliContext, arg: string): Promise<{ group: string; resource: string; name: string; warning?: string }> {
  const [typ, name] = arg.includes('/') ? (arg.split('/', 2) as [string, string]) : [arg, ''];
  if (typ === '*') return { group: '*', resource: '*', name };
  try {
    const r = await ctx.discovery().resolveOne(typ);
    const dot = typ.indexOf('.');
    return { group: dot >= 0 ? typ.slice(dot + 1) : r.group, resource: r.name, name };
  } catch {
    const dot = typ.indexOf('.');
    return { group: dot >= 0 ? typ.slice(dot + 1) : '', resource: dot >= 0 ? typ.slice(0, dot) : typ, name, warning: `Warning: the server doesn't have a resource type '${typ}'\n\n` };
  }
}

const canI: VerbCommand = {
  use: 'can-i VERB [TYPE | TYPE/NAME | NONRESOURCEURL]',
  short: 'Check whether an action is allowed',
  flags: [
    { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If true, check the specified action in all namespaces.' },
    { name: 'quiet', short: 'q', type: 'bool', usage: 'If true, suppress output and just return the exit code.' },
    { name: 'subresource', type: 'string', usage: 'SubResource such as pod/log or deployment/scale' },
    { name: 'list', type: 'bool', usage: 'If true, prints all allowed actions.' },
    { name: 'no-headers', type: 'bool', usage: 'If true, prints allowed actions without headers' },
  ],
  async run(ctx, f) {
    const ns = f.values['all-namespaces'] === true ? '' : ctx.namespace();
    if (f.values['list'] === true) {
      const res = await ctx.rest().request<{ status?: { resourceRules?: { verbs?: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[]; nonResourceRules?: { verbs?: string[]; nonResourceURLs?: string[] }[] } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        body: { kind: 'SelfSubjectRulesReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec: { namespace: ns || 'default' } },
      });
      const lines = f.values['no-headers'] === true ? [] : ['Resources\tNon-Resource URLs\tResource Names\tVerbs'];
      for (const r of res.body.status?.resourceRules ?? []) {
        const groups = r.apiGroups ?? [''];
        for (const res2 of r.resources ?? []) {
          for (const g of groups) lines.push(`${g ? `${res2}.${g}` : res2}\t[]\t[${(r.resourceNames ?? []).join(' ')}]\t[${(r.verbs ?? []).join(' ')}]`);
        }
      }
      for (const r of res.body.status?.nonResourceRules ?? []) lines.push(`\t[${(r.nonResourceURLs ?? []).join(' ')}]\t[]\t[${(r.verbs ?? []).join(' ')}]`);
      ctx.out(tabwrite(lines, { minWidth: 0, padding: 2 }));
      return 0;
    }
    if (f.args.length < 2) throw new CliError('you must specify two arguments: verb resource or verb resource/resourceName.\nSee \'kubectl auth can-i -h\' for help and examples');
    const verb = f.args[0]!;
    const target = f.args[1]!;
    let spec: Record<string, unknown>;
    let warnings = '';
    if (target.startsWith('/')) {
      spec = { nonResourceAttributes: { path: target, verb } };
    } else {
      const r = await resolveResource(ctx, target);
      if (r.warning) warnings += r.warning;
      const attrs: Record<string, unknown> = { namespace: ns, verb, group: r.group, resource: r.resource };
      if (String(f.values['subresource'])) attrs['subresource'] = String(f.values['subresource']);
      if (r.name || f.args[2]) attrs['name'] = r.name || f.args[2];
      spec = { resourceAttributes: attrs };
    }
    if (!KNOWN_VERBS.has(verb)) warnings += `Warning: verb '${verb}' is not a known verb\n\n`;
    if (f.values['quiet'] !== true) ctx.err(warnings);
    const res = await ctx.rest().request<{ status?: { allowed?: boolean; reason?: string; evaluationError?: string } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec },
    });
    const allowed = res.body.status?.allowed === true;
    if (f.values['quiet'] !== true) {
      ctx.out(allowed ? 'yes\n' : 'no\n');
      if (!allowed && res.body.status?.reason) ctx.out(` - ${res.body.status.reason}\n`);
    }
    return allowed ? 0 : 1;
  },
};

const whoami: VerbCommand = {
  use: 'whoami',
  short: 'Experimental: Check self subject attributes',
  flags: [{ name: 'output', short: 'o', type: 'string', usage: 'Output format.' }],
  async run(ctx, f) {
    const res = await ctx.rest().request<Obj & { status?: { userInfo?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, status: { userInfo: {} } },
    });
    const output = String(f.values['output']);
    if (output) return void ctx.out(printObject(output, res.body));
    const u = res.body.status?.userInfo ?? {};
    const lines = ['ATTRIBUTE\tVALUE'];
    if (u.username) lines.push(`Username\t${u.username}`);
    if (u.uid) lines.push(`UID\t${u.uid}`);
    if (u.groups && u.groups.length > 0) lines.push(`Groups\t[${u.groups.join(' ')}]`);
    for (const k of Object.keys(u.extra ?? {}).sort()) lines.push(`Extra: ${k}\t[${(u.extra![k] ?? []).join(' ')}]`);
    ctx.out(tabwrite(lines));
  },
};

/** `skiff auth`. */
export const command: VerbGroup = { use: 'auth', short: 'Inspect authorization', subcommands: { 'can-i': canI, whoami } };
