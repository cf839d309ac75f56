/**
 * `skiff create`: kubectl create -f (every object of files, directories, stdin and Lists, errors collected per
 * object and reported at the end) and the generators (namespace, configmap, secret generic/tls/docker-registry,
 * deployment, service clusterip/nodeport/loadbalancer/externalname, job, cronjob, token, role, clusterrole,
 * rolebinding, clusterrolebinding, serviceaccount), with --dry-run, -o and --save-config.
 */
import { readFileSync } from 'node:fs';
import type { FlagSpec, ParsedFlags } from '../flags.ts';
import type { VerbCommand, VerbGroup } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags, readManifests } from '../manifests.ts';
import type { Obj } from '../printers/objects.ts';
import { outputKind, printObject } from '../printers/objects.ts';
import { goJson } from '../printers/encode.ts';
import type { DryRun } from '../ops.ts';
import { addSourceToErr, dryRunFlag, dryRunOf, dryRunQuery, infoForObject, opLine } from '../ops.ts';
import { resourcePath } from '../resource-args.ts';
import {
  bindingObject,
  collectData,
  configMapObject,
  cronJobObject,
  deploymentObject,
  dockerConfigJson,
  jobFromCronJob,
  jobObject,
  namespaceObject,
  oneName,
  policyRules,
  roleObject,
  secretObject,
  serviceAccountObject,
  serviceObject,
  servicePorts,
} from '../generators.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const commonFlags: FlagSpec[] = [
  { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
  dryRunFlag,
  { name: 'save-config', type: 'bool', usage: 'If true, the configuration of current object will be saved in its annotation.' },
  { name: 'validate', type: 'string', default: 'strict', noOptDefault: 'strict', usage: 'Must be one of: strict (or true), warn, ignore (or false).' },
  { name: 'field-manager', type: 'string', default: 'kubectl-create', usage: 'Name of the manager used to track field ownership.' },
  { name: 'show-managed-fields', type: 'bool', usage: 'If true, keep the managedFields when printing objects in JSON or YAML format.' },
  { name: 'template', type: 'string', usage: 'Template string or path to template file to use when -o=go-template, -o=go-template-file.' },
  { name: 'allow-missing-template-keys', type: 'bool', default: true, usage: 'If true, ignore any errors in templates when a field or map key is missing in the template.' },
];

const META_ORDER = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'];

/**
 * Adds the last-applied annotation (--save-config), as kubectl's CreateApplyAnnotation does. Objects kubectl
 * builds itself (`typed`) serialize as Go structs: field order kept, an empty annotations map omitted.
 */
export function withLastApplied(obj: Obj, opts: { typed?: boolean } = {}): Obj {
  const copy = structuredClone(obj);
  const meta = (copy.metadata ??= {});
  const annotations = { ...((meta['annotations'] as Record<string, string> | undefined) ?? {}) };
  delete annotations[LAST_APPLIED];
  if (opts.typed && Object.keys(annotations).length === 0) delete meta['annotations'];
  else meta['annotations'] = annotations;
  const text = `${goJson(copy, { indent: 0, sortKeys: !opts.typed })}\n`;
  meta['annotations'] = { ...annotations, [LAST_APPLIED]: text };
  if (opts.typed) {
    const ordered: Record<string, unknown> = {};
    for (const k of META_ORDER) if (meta[k] !== undefined) ordered[k] = meta[k];
    for (const k of Object.keys(meta)) if (!(k in ordered)) ordered[k] = meta[k];
    copy.metadata = ordered as Obj['metadata'];
  }
  return copy;
}

/** Creates one object (or prints it for client dry runs) and prints kubectl's result line or -o output. */
async function createObject(ctx: CliContext, obj: Obj, o: { f: ParsedFlags; namespace: string; dryRun: DryRun; source?: string; typed?: boolean }): Promise<void> {
  const info = await infoForObject(ctx, obj, o.source ?? '');
  let body = obj;
  if (o.f.values['save-config'] === true) body = withLastApplied(body, { typed: o.typed === true });
  const output = String(o.f.values['output'] ?? '');
  if (o.dryRun === 'client') {
    printCreated(ctx, info.resource, info.name, body, { output, dryRun: o.dryRun, typed: o.typed === true, showManaged: true });
    return;
  }
  let created: Obj;
  try {
    created = (
      await ctx.rest().request<Obj>({
        method: 'POST',
        path: resourcePath(info.resource, { namespace: info.namespace || undefined }),
        body,
        query: { fieldManager: String(o.f.values['field-manager'] || 'kubectl-create'), ...dryRunQuery(o.dryRun) },
      })
    ).body;
  } catch (e) {
    throw addSourceToErr(e, 'creating', o.source);
  }
  printCreated(ctx, info.resource, created.metadata?.name ?? info.name, created, { output, dryRun: o.dryRun, typed: false, showManaged: o.f.values['show-managed-fields'] === true });
}

function printCreated(ctx: CliContext, r: Parameters<typeof opLine>[0], name: string, obj: Obj, o: { output: string; dryRun: DryRun; typed: boolean; showManaged: boolean }): void {
  if (!o.output) return void ctx.out(opLine(r, name, 'created', o.dryRun));
  let shown = obj;
  if (!o.showManaged && shown.metadata?.managedFields) {
    const { managedFields: _m, ...meta } = shown.metadata;
    shown = { ...shown, metadata: meta };
  }
  if (o.typed && outputKind(o.output) === 'json') return void ctx.out(`${goJson(shown, { sortKeys: false })}\n`);
  ctx.out(printObject(o.output, shown));
}

function generator(use: string, short: string, flags: FlagSpec[], build: (ctx: CliContext, f: ParsedFlags, ns: string | undefined) => Promise<Obj> | Obj): VerbCommand {
  return {
    use,
    short,
    flags: [...flags, ...commonFlags],
    async run(ctx, f) {
      const dryRun = dryRunOf(f);
      // Generators set the namespace in the object only when -n was given (kubectl's EnforceNamespace).
      let obj: Obj;
      try {
        obj = await build(ctx, f, ctx.namespaceExplicit() ? ctx.namespace() : undefined);
      } catch (e) {
        // Usage errors carry kubectl's help hint for the subcommand.
        if (e instanceof CliError && e.message.startsWith('exactly one NAME')) throw new CliError(`${e.message}\nSee 'kubectl create ${use.split(' NAME')[0]} -h' for help and examples`);
        throw e;
      }
      await createObject(ctx, obj, { f, namespace: ctx.namespace(), dryRun, typed: true });
    },
  };
}

const str = (f: ParsedFlags, k: string): string => String(f.values[k] ?? '');
const list = (f: ParsedFlags, k: string): string[] => (f.values[k] as string[] | undefined) ?? [];
/** Arguments after `--` (the container command), and the NAME before it. */
function splitCommand(f: ParsedFlags): { names: string[]; command: string[] } {
  if (f.dashAt < 0) return { names: f.args, command: [] };
  return { names: f.args.slice(0, f.dashAt), command: f.args.slice(f.dashAt) };
}

const dataFlags: FlagSpec[] = [
  { name: 'from-literal', type: 'stringArray', usage: 'Specify a key and literal value to insert (i.e. mykey=somevalue)' },
  { name: 'from-file', type: 'stringSlice', usage: 'Key file can be specified using its file path.' },
  { name: 'from-env-file', type: 'stringSlice', usage: 'Specify the path to a file to read lines of key=val pairs.' },
  { name: 'append-hash', type: 'bool', usage: 'Append a hash of the configmap to its name.' },
];

function dataOf(f: ParsedFlags): Map<string, Buffer> {
  if (list(f, 'from-env-file').length > 0 && (list(f, 'from-file').length > 0 || list(f, 'from-literal').length > 0)) {
    throw new CliError('from-env-file cannot be combined with from-file or from-literal');
  }
  return collectData({ literals: list(f, 'from-literal'), files: list(f, 'from-file'), envFiles: list(f, 'from-env-file') });
}

function serviceGenerator(type: string, extra: FlagSpec[]): VerbCommand {
  return generator(`service ${type.toLowerCase()} NAME [--tcp=<port>:<targetPort>] [--dry-run=server|client|none]`, `Create a ${type} service`, [{ name: 'tcp', type: 'stringSlice', usage: 'Port pairs can be specified as "<port>:<targetPort>".' }, ...extra], (_ctx, f, ns) => {
    const name = oneName(f.args);
    if (type === 'ExternalName') return serviceObject(name, ns, { type, ports: servicePorts(list(f, 'tcp'), 0), externalName: str(f, 'external-name') });
    const clusterIP = str(f, 'clusterip');
    return serviceObject(name, ns, { type, ports: servicePorts(list(f, 'tcp'), Number(f.values['node-port'] ?? 0)), clusterIP: clusterIP || undefined });
  });
}

async function resolveRuleResources(ctx: CliContext, resources: string[]): Promise<{ group: string; resource: string }[]> {
  const out: { group: string; resource: string }[] = [];
  for (const spec of resources) {
    const [res, sub] = spec.split('/') as [string, string | undefined];
    if (res === '*') {
      out.push({ group: '', resource: spec });
      continue;
    }
    const dot = res.indexOf('.');
    const r = await ctx.discovery().resolveOne(res);
    const group = dot >= 0 ? res.slice(dot + 1) : r.group;
    out.push({ group, resource: sub ? `${r.name}/${sub}` : r.name });
  }
  return out;
}

function roleGenerator(kind: 'Role' | 'ClusterRole'): VerbCommand {
  return generator(`${kind.toLowerCase()} NAME --verb=verb --resource=resource.group/subresource [--resource-name=resourcename] [--dry-run=server|client|none]`, `Create a ${kind.toLowerCase()}`, [
    { name: 'verb', type: 'stringSlice', usage: 'Verb that applies to the resources contained in the rule' },
    { name: 'resource', type: 'stringSlice', usage: 'Resource that the rule applies to' },
    { name: 'resource-name', type: 'stringArray', usage: 'Resource in the white list that the rule applies to, repeat this flag for multiple items' },
    ...(kind === 'ClusterRole' ? [{ name: 'non-resource-url', type: 'stringSlice', usage: 'A partial url that user should have access to.' } as FlagSpec, { name: 'aggregation-rule', type: 'string', usage: 'An aggregation label selector for combining ClusterRoles.' } as FlagSpec] : []),
  ], async (ctx, f, ns) => {
    const name = oneName(f.args);
    const verbs = list(f, 'verb');
    if (verbs.length === 0) throw new CliError('at least one verb must be specified');
    const resources = await resolveRuleResources(ctx, list(f, 'resource'));
    if (resources.length === 0 && list(f, 'non-resource-url').length === 0) throw new CliError('at least one resource must be specified');
    return roleObject(kind, name, ns, policyRules({ verbs, resources, resourceNames: list(f, 'resource-name'), nonResourceURLs: list(f, 'non-resource-url') }));
  });
}

function bindingGenerator(kind: 'RoleBinding' | 'ClusterRoleBinding'): VerbCommand {
  return generator(`${kind.toLowerCase()} NAME --clusterrole=NAME${kind === 'RoleBinding' ? '|--role=NAME' : ''} [--user=username] [--group=groupname] [--serviceaccount=namespace:serviceaccountname] [--dry-run=server|client|none]`, `Create a ${kind === 'RoleBinding' ? 'role binding for a particular role or cluster role' : 'cluster role binding for a particular cluster role'}`, [
    { name: 'clusterrole', type: 'string', usage: 'ClusterRole this binding should reference' },
    ...(kind === 'RoleBinding' ? [{ name: 'role', type: 'string', usage: 'Role this RoleBinding should reference' } as FlagSpec] : []),
    { name: 'user', type: 'stringArray', usage: 'Usernames to bind to the role.' },
    { name: 'group', type: 'stringArray', usage: 'Groups to bind to the role.' },
    { name: 'serviceaccount', type: 'stringArray', usage: 'Service accounts to bind to the role, in the format <namespace>:<name>.' },
  ], (_ctx, f, ns) => {
    const name = oneName(f.args);
    const role = str(f, 'role');
    const clusterRole = str(f, 'clusterrole');
    if (role && clusterRole) throw new CliError('exactly one of clusterrole or role must be specified');
    if (!role && !clusterRole) throw new CliError(kind === 'RoleBinding' ? 'exactly one of clusterrole or role must be specified' : 'clusterrole must be specified');
    return bindingObject(kind, name, ns, { role: role || undefined, clusterRole: clusterRole || undefined, users: list(f, 'user'), groups: list(f, 'group'), serviceAccounts: list(f, 'serviceaccount') });
  });
}

const createToken: VerbCommand = {
  use: 'token SERVICE_ACCOUNT_NAME',
  short: 'Request a service account token',
  flags: [
    { name: 'audience', type: 'stringArray', usage: 'Intended audience of the requested token.' },
    { name: 'duration', type: 'duration', default: '0s', usage: 'Requested lifetime of the issued token.' },
    { name: 'bound-object-kind', type: 'string', usage: 'Kind of an object to bind the token to.' },
    { name: 'bound-object-name', type: 'string', usage: 'Name of an object to bind the token to.' },
    { name: 'bound-object-uid', type: 'string', usage: 'UID of an object to bind the token to.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
  ],
  async run(ctx, f) {
    const name = oneName(f.args);
    const spec: Record<string, unknown> = {};
    const aud = list(f, 'audience');
    if (aud.length > 0) spec['audiences'] = aud;
    const dur = str(f, 'duration');
    const { parseDuration } = await import('../flags.ts');
    const ms = parseDuration(dur) ?? 0;
    if (ms > 0) spec['expirationSeconds'] = Math.floor(ms / 1000);
    if (str(f, 'bound-object-kind')) spec['boundObjectRef'] = { kind: str(f, 'bound-object-kind'), apiVersion: str(f, 'bound-object-kind') === 'Secret' || str(f, 'bound-object-kind') === 'Pod' ? 'v1' : '', name: str(f, 'bound-object-name'), uid: str(f, 'bound-object-uid') || undefined };
    const res = await ctx.rest().request<Obj & { status?: { token?: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${encodeURIComponent(ctx.namespace())}/serviceaccounts/${encodeURIComponent(name)}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { creationTimestamp: null }, spec },
    });
    const output = str(f, 'output');
    if (output) ctx.out(printObject(output, res.body));
    else ctx.out(`${res.body.status?.token ?? ''}\n`);
  },
};

const fromFiles: VerbCommand = {
  use: 'create -f FILENAME',
  short: 'Create a resource from a file or from stdin.',
  flags: [...filenameFlags('create'), ...commonFlags, { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' }, { name: 'edit', type: 'bool', usage: 'Edit the API resource before creating' }, { name: 'raw', type: 'string', usage: 'Raw URI to POST to the server.' }],
  async run(ctx, f) {
    const filenames = list(f, 'filename');
    const raw = str(f, 'raw');
    if (raw) {
      if (filenames.length !== 1) throw new CliError('--raw must be used with exactly one --filename');
      const { readStdin } = await import('../manifests.ts');
      const text = filenames[0] === '-' ? await readStdin(ctx) : readFileSync(filenames[0]!, 'utf8');
      const res = await ctx.rest().request<unknown>({ method: 'POST', path: raw, body: text, contentType: 'application/json', accept: 'application/json, */*' });
      ctx.out(typeof res.body === 'string' ? res.body : JSON.stringify(res.body));
      return;
    }
    if (filenames.length === 0) {
      if (f.args.length > 0) throw new CliError(`Unexpected args: [${f.args.join(' ')}]\nSee 'kubectl create -h' for help and examples`);
      throw new CliError('must specify one of -f and -k');
    }
    const dryRun = dryRunOf(f);
    const manifests = await readManifests(ctx, { filenames, recursive: f.values['recursive'] === true });
    if (manifests.length === 0) throw new CliError('no objects passed to create');
    const selector = str(f, 'selector');
    const errors: unknown[] = [];
    for (const m of manifests) {
      if (selector && !matchesSelector(m.obj.metadata?.['labels'] as Record<string, string> | undefined, selector)) continue;
      try {
        await createObject(ctx, m.obj, { f, namespace: ctx.namespace(), dryRun, source: m.source });
      } catch (e) {
        if (e instanceof CliError && e.raw) throw e;
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};

function matchesSelector(labels: Record<string, string> | undefined, selector: string): boolean {
  const l = labels ?? {};
  return selector.split(',').every((term) => {
    const t = term.trim();
    if (t.includes('!=')) {
      const [k, v] = t.split('!=') as [string, string];
      return l[k.trim()] !== v.trim();
    }
    if (t.includes('=')) {
      const [k, v] = t.split(/==?/) as [string, string];
      return l[k.trim()] === v.trim();
    }
    if (t.startsWith('!')) return !(t.slice(1) in l);
    return t in l;
  });
}

/** `skiff create`. */
export const command: VerbGroup = {
  use: 'create -f FILENAME',
  short: 'Create a resource from a file or from stdin.',
  default: fromFiles,
  subcommands: {
    namespace: generator('namespace NAME [--dry-run=server|client|none]', 'Create a namespace with the specified name', [], (_c, f) => namespaceObject(oneName(f.args))),
    ns: generator('namespace NAME [--dry-run=server|client|none]', 'Create a namespace with the specified name', [], (_c, f) => namespaceObject(oneName(f.args))),
    configmap: generator('configmap NAME [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none]', 'Create a config map from a local file, directory or literal value', dataFlags, (_c, f, ns) => configMapObject(oneName(f.args), ns, dataOf(f))),
    cm: generator('configmap NAME [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none]', 'Create a config map from a local file, directory or literal value', dataFlags, (_c, f, ns) => configMapObject(oneName(f.args), ns, dataOf(f))),
    secret: undefined as unknown as VerbCommand,
    deployment: generator('deployment NAME --image=image -- [COMMAND] [args...]', 'Create a deployment with the specified name', [
      { name: 'image', type: 'stringSlice', usage: 'Image names to run.' },
      { name: 'replicas', short: 'r', type: 'int', default: 1, usage: 'Number of replicas to create. Default is 1.' },
      { name: 'port', type: 'int', default: -1, usage: 'The containerPort that this deployment exposes.' },
    ], (_c, f, ns) => {
      const { names, command } = splitCommand(f);
      const name = oneName(names);
      const images = list(f, 'image');
      if (images.length === 0) throw new CliError('--image is required');
      if (images.length > 1 && command.length > 0) throw new CliError('cannot specify multiple --image options and command');
      return deploymentObject(name, ns, { images, replicas: Number(f.values['replicas']), port: Number(f.values['port']), command });
    }),
    deploy: undefined as unknown as VerbCommand,
    service: undefined as unknown as VerbCommand,
    svc: undefined as unknown as VerbCommand,
    job: generator('job NAME --image=image [--from=cronjob/name] -- [COMMAND] [args...]', 'Create a job with the specified name', [
      { name: 'image', type: 'string', usage: 'Image name to run.' },
      { name: 'from', type: 'string', usage: 'The name of the resource to create a Job from (only cronjob is supported).' },
    ], async (ctx, f, ns) => {
      const { names, command } = splitCommand(f);
      const name = oneName(names);
      const from = str(f, 'from');
      if (from) {
        const [type, cjName] = from.split('/') as [string, string | undefined];
        if (!cjName || !['cronjob', 'cronjobs', 'cj', 'cronjob.batch', 'cronjobs.batch'].includes(type)) throw new CliError(`from must be an existing cronjob: ${from}`);
        const cj = (await ctx.rest().request<Obj>({ path: `/apis/batch/v1/namespaces/${encodeURIComponent(ctx.namespace())}/cronjobs/${encodeURIComponent(cjName)}` })).body;
        return jobFromCronJob(name, ns, cj);
      }
      if (!str(f, 'image')) throw new CliError('either --image or --from must be specified');
      return jobObject(name, ns, { image: str(f, 'image'), command });
    }),
    cronjob: generator('cronjob NAME --image=image --schedule=\'0/5 * * * ?\' -- [COMMAND] [args...] [flags]', 'Create a cron job with the specified name', [
      { name: 'image', type: 'string', usage: 'Image name to run.' },
      { name: 'schedule', type: 'string', usage: 'A schedule in the Cron format the job should be run with.' },
      { name: 'restart', type: 'string', usage: "job's restart policy. supported values: OnFailure, Never" },
    ], (_c, f, ns) => {
      const { names, command } = splitCommand(f);
      const name = oneName(names);
      if (!str(f, 'image')) throw new CliError('--image must be specified');
      if (!str(f, 'schedule')) throw new CliError('--schedule must be specified');
      return cronJobObject(name, ns, { image: str(f, 'image'), schedule: str(f, 'schedule'), restart: str(f, 'restart'), command });
    }),
    cj: undefined as unknown as VerbCommand,
    token: createToken,
    role: roleGenerator('Role'),
    clusterrole: roleGenerator('ClusterRole'),
    rolebinding: bindingGenerator('RoleBinding'),
    clusterrolebinding: bindingGenerator('ClusterRoleBinding'),
    serviceaccount: generator('serviceaccount NAME [--dry-run=server|client|none]', 'Create a service account with the specified name', [], (_c, f, ns) => serviceAccountObject(oneName(f.args), ns)),
    sa: undefined as unknown as VerbCommand,
  },
};

const secretGroup: Record<string, VerbCommand> = {
  generic: generator('secret generic NAME [--type=string] [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none]', 'Create a secret from a local file, directory, or literal value', [...dataFlags, { name: 'type', type: 'string', usage: 'The type of secret to create' }], (_c, f, ns) =>
    secretObject(oneName(f.args), ns, dataOf(f), str(f, 'type') || undefined),
  ),
  tls: generator('secret tls NAME --cert=path/to/cert/file --key=path/to/key/file [--dry-run=server|client|none]', 'Create a TLS secret', [
    { name: 'cert', type: 'string', usage: 'Path to PEM encoded public key certificate.' },
    { name: 'key', type: 'string', usage: 'Path to private key associated with given certificate.' },
    { name: 'append-hash', type: 'bool', usage: 'Append a hash of the secret to its name.' },
  ], (_c, f, ns) => {
    const name = oneName(f.args);
    const cert = str(f, 'cert');
    const key = str(f, 'key');
    if (!cert || !key) throw new CliError('key and cert must be specified');
    const data = new Map<string, Buffer>([
      ['tls.crt', readFileSync(cert)],
      ['tls.key', readFileSync(key)],
    ]);
    return secretObject(name, ns, data, 'kubernetes.io/tls');
  }),
  'docker-registry': generator('secret docker-registry NAME --docker-username=user --docker-password=password --docker-email=email [--docker-server=string] [--from-file=[key=]source] [--dry-run=server|client|none]', 'Create a secret for use with a Docker registry', [
    { name: 'docker-server', type: 'string', default: 'https://index.docker.io/v1/', usage: 'Server location for Docker registry' },
    { name: 'docker-username', type: 'string', usage: 'Username for Docker registry authentication' },
    { name: 'docker-password', type: 'string', usage: 'Password for Docker registry authentication' },
    { name: 'docker-email', type: 'string', usage: 'Email for Docker registry' },
    { name: 'from-file', type: 'stringSlice', usage: 'Key files can be specified using their file path.' },
    { name: 'append-hash', type: 'bool', usage: 'Append a hash of the secret to its name.' },
  ], (_c, f, ns) => {
    const name = oneName(f.args);
    const files = list(f, 'from-file');
    if (files.length > 0) return secretObject(name, ns, collectData({ literals: [], files, envFiles: [] }), 'kubernetes.io/dockerconfigjson');
    if (!str(f, 'docker-username') || !str(f, 'docker-password')) throw new CliError('either --from-file or the combination of --docker-username, --docker-password and --docker-server is required');
    const json = dockerConfigJson({ server: str(f, 'docker-server'), username: str(f, 'docker-username'), password: str(f, 'docker-password'), email: str(f, 'docker-email') });
    return secretObject(name, ns, new Map([['.dockerconfigjson', json]]), 'kubernetes.io/dockerconfigjson');
  }),
};

const serviceGroup: Record<string, VerbCommand> = {
  clusterip: serviceGenerator('ClusterIP', [{ name: 'clusterip', type: 'string', usage: 'Assign your own ClusterIP or set to \'None\' for a \'headless\' service (no loadbalancing).' }]),
  nodeport: serviceGenerator('NodePort', [{ name: 'node-port', type: 'int', usage: 'Port used to expose the service on each node in a cluster.' }]),
  loadbalancer: serviceGenerator('LoadBalancer', []),
  externalname: serviceGenerator('ExternalName', [{ name: 'external-name', type: 'string', usage: 'External name of service' }]),
};

/** A subcommand with its own subcommands (`create secret generic`), dispatched on the first positional. */
function nested(kind: string, table: Record<string, VerbCommand>): VerbCommand {
  return {
    use: `${kind} (${Object.keys(table).join(' | ')})`,
    short: `Create a ${kind} using a specified subcommand`,
    flags: [...new Map(Object.values(table).flatMap((c) => c.flags).map((s) => [s.name, s])).values()],
    async run(ctx, f) {
      const sub = f.args[0];
      const cmd = sub ? table[sub] : undefined;
      if (!cmd) throw new CliError(sub ? `unknown command ${JSON.stringify(sub)} for "kubectl create ${kind}"` : `Create a ${kind} using a specified subcommand.`);
      const own = new Set(cmd.flags.map((s) => s.name));
      for (const k of f.changed) if (!own.has(k) && !['namespace', 'kubeconfig', 'context', 'cluster', 'user', 'server', 'token', 'as', 'v'].includes(k)) throw new CliError(`unknown flag: --${k}`);
      return cmd.run(ctx, { ...f, args: f.args.slice(1), dashAt: f.dashAt > 0 ? f.dashAt - 1 : f.dashAt });
    },
  };
}

command.subcommands['secret'] = nested('secret', secretGroup);
command.subcommands['service'] = nested('service', serviceGroup);
command.subcommands['svc'] = command.subcommands['service'];
command.subcommands['deploy'] = command.subcommands['deployment']!;
command.subcommands['cj'] = command.subcommands['cronjob']!;
command.subcommands['sa'] = command.subcommands['serviceaccount']!;
