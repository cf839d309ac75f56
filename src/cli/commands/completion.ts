/**
 * `skiff completion bash|zsh`: shell completion scripts that ask `skiff __complete` for candidates: verbs,
 * subcommands, resource types (from the discovery cache) and resource names from the cluster (`skiff get po
 * <TAB>`, `skiff logs <TAB>`, `TYPE/<TAB>`), honouring -n/--namespace on the command line.
 */
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { verbs } from '../verbs.ts';
import { resourcePath } from '../resource-args.ts';

const BASH = `# bash completion for skiff (source <(skiff completion bash))
_skiff() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  COMPREPLY=( $(compgen -W "$(skiff __complete -- "\${COMP_WORDS[@]:1:$((COMP_CWORD-1))}" "$cur" 2>/dev/null)" -- "$cur") )
}
complete -o default -F _skiff skiff
`;

const ZSH = `#compdef skiff
# zsh completion for skiff (source <(skiff completion zsh))
_skiff() {
  local -a candidates
  candidates=("\${(@f)$(skiff __complete -- "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null)}")
  compadd -- $candidates
}
if [ "$funcstack[1]" = "_skiff" ]; then _skiff "$@"; else compdef _skiff skiff; fi
`;

/** `skiff completion`. */
export const command: VerbCommand = {
  use: 'completion SHELL',
  short: 'Output shell completion code for the specified shell (bash or zsh)',
  flags: [],
  async run(ctx, f) {
    const shell = f.args[0];
    if (!shell) throw new CliError('Shell not specified.\nSee \'kubectl completion -h\' for help and examples');
    if (f.args.length > 1) throw new CliError('Too many arguments. Expected only the shell type.\nSee \'kubectl completion -h\' for help and examples');
    if (shell === 'bash') ctx.out(BASH);
    else if (shell === 'zsh') ctx.out(ZSH);
    else throw new CliError(`Unsupported shell type "${shell}".`);
  },
};

const SUBCOMMANDS: Record<string, string[]> = {
  create: ['clusterrole', 'clusterrolebinding', 'configmap', 'cronjob', 'deployment', 'job', 'namespace', 'role', 'rolebinding', 'secret', 'service', 'serviceaccount', 'token'],
  rollout: ['history', 'pause', 'restart', 'resume', 'status', 'undo'],
  set: ['env', 'image', 'resources'],
  auth: ['can-i', 'whoami'],
  top: ['node', 'pod'],
  config: ['current-context', 'delete-cluster', 'delete-context', 'delete-user', 'get-clusters', 'get-contexts', 'get-users', 'rename-context', 'set-cluster', 'set-context', 'set-credentials', 'use-context', 'view'],
  completion: ['bash', 'zsh'],
};
const TYPE_VERBS = new Set(['get', 'describe', 'delete', 'edit', 'label', 'annotate', 'patch', 'scale', 'explain', 'wait', 'tree', 'autoscale', 'expose']);
const POD_VERBS = new Set(['logs', 'exec', 'attach', 'port-forward', 'cp']);
const NODE_VERBS = new Set(['cordon', 'uncordon', 'drain', 'taint']);

async function names(ctx: CliContext, type: string, prefix: string): Promise<string[]> {
  try {
    const r = await ctx.discovery().resolveOne(type);
    const body = (await ctx.rest().request<{ items?: { metadata?: { name?: string } }[] }>({ path: resourcePath(r, { namespace: r.namespaced ? ctx.namespace() : undefined }), query: { limit: 500 } })).body;
    return (body.items ?? []).map((i) => i.metadata?.name ?? '').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

async function resourceTypes(ctx: CliContext): Promise<string[]> {
  try {
    return [...new Set((await ctx.discovery().preferredResources()).map((r) => r.name))].sort();
  } catch {
    return [];
  }
}

/** Candidates for the word being completed, given the words before it (flags and their values skipped). */
export async function complete(ctx: CliContext, words: string[], current: string): Promise<string[]> {
  const pos: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      if ((w === '-n' || w === '--namespace') && words[i + 1]) ctx.globals.namespace = words[i + 1]!;
      else if (w.startsWith('--namespace=')) ctx.globals.namespace = w.slice('--namespace='.length);
      if (['-n', '--namespace', '-o', '--output', '-l', '--selector', '-f', '--filename', '-c', '--container', '--context', '--kubeconfig'].includes(w)) i++;
      continue;
    }
    pos.push(w);
  }
  if (pos.length === 0) return verbs.map((v) => v.name).filter((n) => n.startsWith(current) && !n.startsWith('_'));
  const verb = pos[0]!;
  const sub = SUBCOMMANDS[verb];
  if (sub && pos.length === 1) return sub.filter((s) => s.startsWith(current));
  const args = sub ? pos.slice(2) : pos.slice(1);
  if (verb === 'rollout' && args.length === 0) return (await resourceTypes(ctx)).filter((t) => ['deployments', 'daemonsets', 'statefulsets'].includes(t) && t.startsWith(current));
  if (current.includes('/')) {
    const [type, prefix] = current.split('/', 2) as [string, string];
    return (await names(ctx, type, prefix)).map((n) => `${type}/${n}`);
  }
  if (POD_VERBS.has(verb) && args.length === 0) return names(ctx, 'pods', current);
  if (NODE_VERBS.has(verb) && args.length === 0) return names(ctx, 'nodes', current);
  if (TYPE_VERBS.has(verb) || verb === 'rollout') {
    if (args.length === 0) return (await resourceTypes(ctx)).filter((t) => t.startsWith(current));
    return names(ctx, args[0]!.split(',')[0]!, current);
  }
  return [];
}

/** `skiff __complete` (hidden): prints completion candidates, one per line. */
export const completeCommand: VerbCommand = {
  use: '__complete WORDS... CURRENT',
  short: 'Print completion candidates (used by the completion scripts)',
  flags: [],
  async run(ctx, f) {
    const all = [...f.args];
    const current = all.pop() ?? '';
    for (const c of await complete(ctx, all, current)) ctx.out(`${c}\n`);
  },
};
