/**
 * KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): decoding (YAML or JSON, strict about unknown
 * fields), defaulting (upstream's default plugins and weights, merged with each profile's enable/disable
 * lists, multiPoint expanded per extension point) and validation. Every problem is reported as one line that
 * names the field, in upstream's field.Error wording.
 */
import { parseDocument } from 'yaml';
import type { Handle, PluginFactory } from '../framework/interface.ts';
import { implementsPoint } from '../framework/interface.ts';
import type { EnabledPlugin, ExtensionPoint, ResolvedProfile } from '../framework/framework.ts';
import { extensionPoints } from '../framework/framework.ts';
import { defaultMultiPoint, inTreeRegistry } from '../plugins/registry.ts';

/** The group/version of the configuration file. */
export const schedulerConfigApiVersion = 'kubescheduler.config.k8s.io/v1';

/** Leader election settings (componentbaseconfig.LeaderElectionConfiguration). */
export interface LeaderElectionConfig {
  leaderElect: boolean;
  resourceNamespace: string;
  resourceName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** A decoded, defaulted and validated scheduler configuration. */
export interface SchedulerConfiguration {
  percentageOfNodesToScore: number;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
  leaderElection: LeaderElectionConfig;
  profiles: ResolvedProfile[];
}

/** A configuration that does not decode or validate; `errors` holds one line per problem. */
export class SchedulerConfigError extends Error {
  override name = 'SchedulerConfigError';
  readonly errors: string[];
  constructor(errors: string[], source = '') {
    super(`invalid scheduler configuration${source ? ` ${source}` : ''}: ${errors.join('; ')}`);
    this.errors = errors;
  }
}

type Json = Record<string, unknown>;

const topFields = new Set(['apiVersion', 'kind', 'parallelism', 'leaderElection', 'clientConnection', 'healthzBindAddress', 'metricsBindAddress', 'enableProfiling', 'enableContentionProfiling', 'percentageOfNodesToScore', 'podInitialBackoffSeconds', 'podMaxBackoffSeconds', 'profiles', 'extenders', 'delayCacheUntilActive']);
const leaderFields = new Set(['leaderElect', 'leaseDuration', 'renewDeadline', 'retryPeriod', 'resourceLock', 'resourceName', 'resourceNamespace']);
const profileFields = new Set(['schedulerName', 'percentageOfNodesToScore', 'plugins', 'pluginConfig']);
const pluginsFields = new Set([...extensionPoints, 'multiPoint']);

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a Go duration ("15s", "1m30s", "500ms") into milliseconds; undefined when malformed. */
export function parseGoDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (s === '0') return 0;
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
    pos = re.lastIndex;
  }
  return pos === s.length && s.length > 0 ? total : undefined;
}

/** Plugin name → the extension points it implements (probed once with a handle it must not use yet). */
function implementedPoints(registry: Record<string, PluginFactory>): Map<string, Set<ExtensionPoint>> {
  const stub = new Proxy({}, { get: () => { throw new Error('handle used during construction'); } }) as Handle;
  const out = new Map<string, Set<ExtensionPoint>>();
  for (const [name, f] of Object.entries(registry)) {
    let p;
    try {
      p = f(undefined, stub);
    } catch {
      continue;
    }
    const pts = new Set<ExtensionPoint>();
    for (const pt of extensionPoints) if (implementsPoint[pt](p)) pts.add(pt);
    out.set(name, pts);
  }
  return out;
}

interface PluginSet {
  enabled: EnabledPlugin[];
  disabled: string[];
}

function mergePluginSet(defaults: EnabledPlugin[], custom: PluginSet): EnabledPlugin[] {
  const disabledAll = custom.disabled.includes('*');
  const disabled = new Set(custom.disabled);
  const customByName = new Map(custom.enabled.map((e) => [e.name, e]));
  const out: EnabledPlugin[] = [];
  const replaced = new Set<string>();
  if (!disabledAll) {
    for (const d of defaults) {
      if (disabled.has(d.name)) continue;
      const c = customByName.get(d.name);
      if (c) {
        out.push(c);
        replaced.add(d.name);
      } else {
        out.push(d);
      }
    }
  }
  for (const c of custom.enabled) if (!replaced.has(c.name)) out.push(c);
  return out;
}

/** Expands multiPoint into each extension point as upstream's expandMultiPointPlugins. */
function expandProfile(multi: EnabledPlugin[], points: Record<ExtensionPoint, PluginSet>, impl: Map<string, Set<ExtensionPoint>>, path: string, errs: string[]): Record<ExtensionPoint, EnabledPlugin[]> {
  const out = {} as Record<ExtensionPoint, EnabledPlugin[]>;
  for (const pt of extensionPoints) {
    const set = points[pt];
    const explicit = new Map(set.enabled.map((e) => [e.name, e]));
    const disabled = new Set(set.disabled);
    const override: EnabledPlugin[] = [];
    const fromMulti: EnabledPlugin[] = [];
    if (!disabled.has('*')) {
      for (const e of multi) {
        if (!impl.get(e.name)?.has(pt)) continue;
        if (disabled.has(e.name)) continue;
        const ex = explicit.get(e.name);
        if (ex) {
          override.push(ex);
          continue;
        }
        if (fromMulti.some((x) => x.name === e.name)) {
          errs.push(`${path}.multiPoint: plugin "${e.name}" already registered as "${pt}"`);
          continue;
        }
        fromMulti.push(e);
      }
    }
    const rest = set.enabled.filter((e) => !override.some((o) => o.name === e.name));
    out[pt] = [...override, ...fromMulti, ...rest];
  }
  return out;
}

function readPluginSet(v: unknown, path: string, errs: string[]): PluginSet {
  const set: PluginSet = { enabled: [], disabled: [] };
  if (v === undefined || v === null) return set;
  if (!isObj(v)) {
    errs.push(`${path}: Invalid value: must be an object with enabled and disabled lists`);
    return set;
  }
  for (const k of Object.keys(v)) if (k !== 'enabled' && k !== 'disabled') errs.push(`unknown field "${path}.${k}"`);
  for (const which of ['enabled', 'disabled'] as const) {
    const list = v[which];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      errs.push(`${path}.${which}: Invalid value: must be a list`);
      continue;
    }
    list.forEach((e: unknown, i) => {
      const p = `${path}.${which}[${i}]`;
      if (!isObj(e) || typeof e['name'] !== 'string' || e['name'] === '') {
        errs.push(`${p}.name: Required value`);
        return;
      }
      for (const k of Object.keys(e)) if (k !== 'name' && k !== 'weight') errs.push(`unknown field "${p}.${k}"`);
      const w = e['weight'];
      if (w !== undefined && (typeof w !== 'number' || !Number.isInteger(w))) {
        errs.push(`${p}.weight: Invalid value: ${JSON.stringify(w)}: must be an integer`);
        return;
      }
      if (which === 'enabled') set.enabled.push(w === undefined || w === 0 ? { name: e['name'] } : { name: e['name'], weight: w });
      else set.disabled.push(e['name']);
    });
  }
  return set;
}

function checkRange(errs: string[], path: string, v: unknown, lo: number, hi: number, what = `not in valid range [${lo}-${hi}]`): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) errs.push(`${path}: Invalid value: ${JSON.stringify(v)}: ${what}`);
}

/** Validates the args of the plugins that have some (ValidateXxxArgs), reporting paths under `path`. */
function validatePluginArgs(name: string, args: Json, path: string, errs: string[]): void {
  switch (name) {
    case 'NodeResourcesFit': {
      const ss = args['scoringStrategy'];
      if (ss === undefined) return;
      if (!isObj(ss)) {
        errs.push(`${path}.scoringStrategy: Invalid value: must be an object`);
        return;
      }
      const types = ['LeastAllocated', 'MostAllocated', 'RequestedToCapacityRatio'];
      if (ss['type'] !== undefined && !types.includes(ss['type'] as string)) {
        errs.push(`${path}.scoringStrategy.type: Unsupported value: ${JSON.stringify(ss['type'])}: supported values: ${types.map((t) => `"${t}"`).join(', ')}`);
      }
      const res = ss['resources'];
      if (res !== undefined) {
        if (!Array.isArray(res)) errs.push(`${path}.scoringStrategy.resources: Invalid value: must be a list`);
        else {
          res.forEach((r: unknown, i) => {
            const rp = `${path}.scoringStrategy.resources[${i}]`;
            if (!isObj(r) || typeof r['name'] !== 'string') {
              errs.push(`${rp}.name: Required value`);
              return;
            }
            const w = r['weight'];
            if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 100) {
              errs.push(`${rp}.weight: Invalid value: ${JSON.stringify(w)}: resource weight of ${r['name']} not in valid range [1, 100]`);
            }
          });
        }
      }
      if (ss['type'] === 'RequestedToCapacityRatio') {
        const shape = isObj(ss['requestedToCapacityRatio']) ? ss['requestedToCapacityRatio']['shape'] : undefined;
        if (!Array.isArray(shape) || shape.length === 0) {
          errs.push(`${path}.scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified`);
        } else {
          let prev = -1;
          shape.forEach((pt: unknown, i) => {
            const sp = `${path}.scoringStrategy.requestedToCapacityRatio.shape[${i}]`;
            const u = isObj(pt) ? pt['utilization'] : undefined;
            const s = isObj(pt) ? pt['score'] : undefined;
            checkRange(errs, `${sp}.utilization`, u, 0, 100, 'not in valid range [0, 100]');
            checkRange(errs, `${sp}.score`, s, 0, 10, 'not in valid range [0, 10]');
            if (typeof u === 'number') {
              if (u <= prev) errs.push(`${sp}.utilization: Invalid value: ${u}: utilization values must be sorted in increasing order`);
              prev = u;
            }
          });
        }
      }
      return;
    }
    case 'InterPodAffinity':
      checkRange(errs, `${path}.hardPodAffinityWeight`, args['hardPodAffinityWeight'], 0, 100);
      return;
    case 'DefaultPreemption': {
      const pct = args['minCandidateNodesPercentage'];
      const abs = args['minCandidateNodesAbsolute'];
      checkRange(errs, `${path}.minCandidateNodesPercentage`, pct, 0, 100, 'not in valid range [0, 100]');
      checkRange(errs, `${path}.minCandidateNodesAbsolute`, abs, 0, Number.MAX_SAFE_INTEGER, 'not in valid range [0, inf)');
      if (pct === 0 && abs === 0) errs.push(`${path}.minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute`);
      return;
    }
    case 'PodTopologySpread': {
      const t = args['defaultingType'];
      if (t !== undefined && t !== 'System' && t !== 'List') errs.push(`${path}.defaultingType: Unsupported value: ${JSON.stringify(t)}: supported values: "List", "System"`);
      const dc = args['defaultConstraints'];
      if ((t ?? 'System') === 'System' && Array.isArray(dc) && dc.length > 0) {
        errs.push(`${path}.defaultConstraints: Invalid value: "…": when .defaultingType is "System", .defaultConstraints must be empty`);
      }
      if (Array.isArray(dc)) {
        dc.forEach((c: unknown, i) => {
          const cp = `${path}.defaultConstraints[${i}]`;
          if (!isObj(c)) return;
          if (typeof c['maxSkew'] !== 'number' || c['maxSkew'] <= 0) errs.push(`${cp}.maxSkew: Invalid value: ${JSON.stringify(c['maxSkew'])}: must be greater than zero`);
          if (typeof c['topologyKey'] !== 'string' || c['topologyKey'] === '') errs.push(`${cp}.topologyKey: Required value: can not be empty`);
          if (c['whenUnsatisfiable'] !== 'DoNotSchedule' && c['whenUnsatisfiable'] !== 'ScheduleAnyway') {
            errs.push(`${cp}.whenUnsatisfiable: Unsupported value: ${JSON.stringify(c['whenUnsatisfiable'])}: supported values: "DoNotSchedule", "ScheduleAnyway"`);
          }
          if (c['labelSelector'] !== undefined) errs.push(`${cp}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod`);
        });
      }
      return;
    }
    default:
  }
}

/** The configuration used when no file is given: one default-scheduler profile with upstream's defaults. */
export function defaultSchedulerConfiguration(): SchedulerConfiguration {
  return decodeSchedulerConfiguration({ apiVersion: schedulerConfigApiVersion, kind: 'KubeSchedulerConfiguration' });
}

/** Decodes YAML/JSON text; throws SchedulerConfigError naming the field (or the line of a syntax error). */
export function parseSchedulerConfiguration(text: string, opts: { source?: string; registry?: Record<string, PluginFactory> } = {}): SchedulerConfiguration {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e?.pos?.[0];
    const line = pos === undefined ? undefined : text.slice(0, pos).split('\n').length;
    throw new SchedulerConfigError([`${line !== undefined ? `line ${line}: ` : ''}${e?.message.split('\n')[0] ?? 'malformed YAML'}`], opts.source);
  }
  const obj: unknown = doc.toJS();
  return decodeSchedulerConfiguration(obj, opts);
}

/** Defaults and validates a decoded configuration object. */
export function decodeSchedulerConfiguration(obj: unknown, opts: { source?: string; registry?: Record<string, PluginFactory> } = {}): SchedulerConfiguration {
  const registry = opts.registry ?? inTreeRegistry;
  const errs: string[] = [];
  if (!isObj(obj)) throw new SchedulerConfigError(['Object \'Kind\' is missing in configuration'], opts.source);
  const apiVersion = obj['apiVersion'];
  const kind = obj['kind'];
  if (kind !== 'KubeSchedulerConfiguration') {
    throw new SchedulerConfigError([kind === undefined ? "Object 'Kind' is missing in configuration" : `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)} in scheme`], opts.source);
  }
  if (apiVersion !== schedulerConfigApiVersion) {
    throw new SchedulerConfigError([`no kind "KubeSchedulerConfiguration" is registered for version ${JSON.stringify(apiVersion)} in scheme`], opts.source);
  }
  for (const k of Object.keys(obj)) if (!topFields.has(k)) errs.push(`unknown field "${k}"`);

  const pct = obj['percentageOfNodesToScore'] ?? 0;
  checkRange(errs, 'percentageOfNodesToScore', pct, 0, 100);
  const initial = obj['podInitialBackoffSeconds'] ?? 1;
  const max = obj['podMaxBackoffSeconds'] ?? 10;
  if (typeof initial !== 'number' || initial <= 0) errs.push(`podInitialBackoffSeconds: Invalid value: ${JSON.stringify(initial)}: must be greater than 0`);
  if (typeof max !== 'number' || (typeof initial === 'number' && max < initial)) errs.push(`podMaxBackoffSeconds: Invalid value: ${JSON.stringify(max)}: must be greater than or equal to PodInitialBackoffSeconds`);

  const le: LeaderElectionConfig = { leaderElect: true, resourceNamespace: 'kube-system', resourceName: 'kube-scheduler', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
  const leIn = obj['leaderElection'];
  if (leIn !== undefined) {
    if (!isObj(leIn)) errs.push('leaderElection: Invalid value: must be an object');
    else {
      for (const k of Object.keys(leIn)) if (!leaderFields.has(k)) errs.push(`unknown field "leaderElection.${k}"`);
      if (leIn['leaderElect'] !== undefined) {
        if (typeof leIn['leaderElect'] !== 'boolean') errs.push(`leaderElection.leaderElect: Invalid value: ${JSON.stringify(leIn['leaderElect'])}: must be a boolean`);
        else le.leaderElect = leIn['leaderElect'];
      }
      for (const [f, key] of [['leaseDuration', 'leaseDurationMs'], ['renewDeadline', 'renewDeadlineMs'], ['retryPeriod', 'retryPeriodMs']] as const) {
        const v = leIn[f];
        if (v === undefined) continue;
        const ms = typeof v === 'string' ? parseGoDuration(v) : undefined;
        if (ms === undefined || ms <= 0) errs.push(`leaderElection.${f}: Invalid value: ${JSON.stringify(v)}: must be a positive duration`);
        else le[key] = ms;
      }
      for (const f of ['resourceName', 'resourceNamespace'] as const) {
        const v = leIn[f];
        if (v === undefined) continue;
        if (typeof v !== 'string' || v === '') errs.push(`leaderElection.${f}: Required value`);
        else le[f] = v;
      }
      if (le.leaderElect && le.leaseDurationMs <= le.renewDeadlineMs) errs.push(`leaderElection.leaseDuration: Invalid value: "${le.leaseDurationMs / 1000}s": LeaseDuration must be greater than RenewDeadline`);
      if (le.leaderElect && le.renewDeadlineMs <= le.retryPeriodMs) errs.push(`leaderElection.renewDeadline: Invalid value: "${le.renewDeadlineMs / 1000}s": RenewDeadline must be greater than RetryPeriod`);
    }
  }

  const impl = implementedPoints(registry);
  let profilesIn = obj['profiles'];
  if (profilesIn === undefined || (Array.isArray(profilesIn) && profilesIn.length === 0)) profilesIn = [{}];
  const profiles: ResolvedProfile[] = [];
  if (!Array.isArray(profilesIn)) {
    errs.push('profiles: Invalid value: must be a list');
  } else {
    const names = new Set<string>();
    profilesIn.forEach((p: unknown, i) => {
      const path = `profiles[${i}]`;
      if (!isObj(p)) {
        errs.push(`${path}: Invalid value: must be an object`);
        return;
      }
      for (const k of Object.keys(p)) if (!profileFields.has(k)) errs.push(`unknown field "${path}.${k}"`);
      const schedulerName = p['schedulerName'] ?? (profilesIn.length === 1 || i === 0 ? 'default-scheduler' : undefined);
      if (typeof schedulerName !== 'string' || schedulerName === '') {
        errs.push(`${path}.schedulerName: Required value`);
        return;
      }
      if (names.has(schedulerName)) errs.push(`${path}.schedulerName: Duplicate value: ${JSON.stringify(schedulerName)}`);
      names.add(schedulerName);
      const ppct = p['percentageOfNodesToScore'];
      checkRange(errs, `${path}.percentageOfNodesToScore`, ppct, 0, 100);
      const pluginsIn = p['plugins'] ?? {};
      const points = {} as Record<ExtensionPoint, PluginSet>;
      let multi: PluginSet = { enabled: [], disabled: [] };
      if (!isObj(pluginsIn)) errs.push(`${path}.plugins: Invalid value: must be an object`);
      else {
        for (const k of Object.keys(pluginsIn)) if (!pluginsFields.has(k)) errs.push(`unknown field "${path}.plugins.${k}"`);
        multi = readPluginSet(pluginsIn['multiPoint'], `${path}.plugins.multiPoint`, errs);
        for (const pt of extensionPoints) points[pt] = readPluginSet(pluginsIn[pt], `${path}.plugins.${pt}`, errs);
      }
      for (const pt of extensionPoints) points[pt] ??= { enabled: [], disabled: [] };
      const check = (list: EnabledPlugin[], where: string): void => {
        list.forEach((e, j) => {
          if (!Object.hasOwn(registry, e.name)) errs.push(`${path}.plugins.${where}.enabled[${j}].name: Invalid value: ${JSON.stringify(e.name)}: plugin "${e.name}" does not exist`);
          else if (where !== 'multiPoint' && !impl.get(e.name)?.has(where as ExtensionPoint)) {
            errs.push(`${path}.plugins.${where}.enabled[${j}].name: Invalid value: ${JSON.stringify(e.name)}: plugin "${e.name}" does not extend ${where} plugin`);
          }
          if (e.weight !== undefined && (e.weight < 0 || e.weight > 100)) {
            errs.push(`${path}.plugins.${where}.enabled[${j}].weight: Invalid value: ${e.weight}: score plugin weight not in valid range [0, 100]`);
          }
        });
      };
      check(multi.enabled, 'multiPoint');
      for (const pt of extensionPoints) check(points[pt].enabled, pt);
      const merged = mergePluginSet(defaultMultiPoint, multi);
      const resolved = expandProfile(merged, points, impl, `${path}.plugins`, errs);
      for (const e of resolved.score) if (e.weight === undefined) e.weight = 1;
      if (resolved.queueSort.length !== 1) errs.push(`${path}.plugins.queueSort: Invalid value: ${resolved.queueSort.length}: only one queue sort plugin can be enabled`);
      if (resolved.bind.length === 0) errs.push(`${path}.plugins.bind: Required value: at least one bind plugin is needed`);

      const pluginConfig = new Map<string, Record<string, unknown>>();
      const pcIn = p['pluginConfig'];
      if (pcIn !== undefined && pcIn !== null) {
        if (!Array.isArray(pcIn)) errs.push(`${path}.pluginConfig: Invalid value: must be a list`);
        else {
          pcIn.forEach((pc: unknown, j) => {
            const pp = `${path}.pluginConfig[${j}]`;
            if (!isObj(pc) || typeof pc['name'] !== 'string') {
              errs.push(`${pp}.name: Required value`);
              return;
            }
            for (const k of Object.keys(pc)) if (k !== 'name' && k !== 'args') errs.push(`unknown field "${pp}.${k}"`);
            const name = pc['name'];
            if (pluginConfig.has(name)) errs.push(`${pp}.name: Duplicate value: ${JSON.stringify(name)}`);
            if (!Object.hasOwn(registry, name)) errs.push(`${pp}.name: Invalid value: ${JSON.stringify(name)}: plugin "${name}" does not exist`);
            const args = pc['args'] ?? {};
            if (!isObj(args)) {
              errs.push(`${pp}.args: Invalid value: must be an object`);
              return;
            }
            const { apiVersion: _a, kind: _k, ...rest } = args;
            void _a;
            void _k;
            validatePluginArgs(name, rest, `${pp}.args`, errs);
            pluginConfig.set(name, rest);
          });
        }
      }
      profiles.push({ schedulerName, percentageOfNodesToScore: typeof ppct === 'number' ? ppct : undefined, plugins: resolved, pluginConfig });
    });
    // All profiles share one queue, so they must sort it the same way.
    const first = profiles[0]?.plugins.queueSort.map((e) => e.name).join(',');
    profiles.forEach((p, i) => {
      if (i > 0 && p.plugins.queueSort.map((e) => e.name).join(',') !== first) errs.push(`profiles[${i}].plugins.queueSort: Invalid value: "…": queueSort must be the same for all profiles`);
    });
  }
  if (errs.length > 0) throw new SchedulerConfigError(errs, opts.source);
  return {
    percentageOfNodesToScore: pct as number,
    podInitialBackoffSeconds: initial as number,
    podMaxBackoffSeconds: max as number,
    leaderElection: le,
    profiles,
  };
}
