/** `skiff api-resources`: the server's resources from fresh discovery, with kubectl's filters and columns. */
import type { VerbCommand } from '../command.ts';
import type { ApiResourceInfo } from '../discovery.ts';
import { CliError } from '../errors.ts';
import { tabwrite } from '../printers/tabwriter.ts';

/** `skiff api-resources`. */
export const command: VerbCommand = {
  use: 'api-resources [flags] [options]',
  short: 'Print the supported API resources on the server.',
  flags: [
    { name: 'output', short: 'o', type: 'string', usage: 'Output format. One of: (wide, name).' },
    { name: 'api-group', type: 'string', usage: 'Limit to resources in the specified API group.' },
    { name: 'namespaced', type: 'bool', default: true, usage: 'If false, non-namespaced resources will be returned, otherwise returning namespaced resources by default.' },
    { name: 'verbs', type: 'stringSlice', usage: 'Limit to resources that support the specified verbs.' },
    { name: 'sort-by', type: 'string', usage: "If non-empty, sort list of resources using specified field. The field can be either 'name' or 'kind'." },
    { name: 'no-headers', type: 'bool', usage: "When using the default or custom-column output format, don't print headers (default print headers)." },
    { name: 'cached', type: 'bool', usage: 'Use the cached list of resources if available.' },
    { name: 'categories', type: 'stringSlice', usage: 'Limit to resources that belong to the specified categories.' },
  ],
  async run(ctx, f) {
    const out = String(f.values['output']);
    if (!['', 'wide', 'name'].includes(out)) throw new CliError(`--output ${out} is not available`);
    const sortBy = String(f.values['sort-by']);
    if (!['', 'name', 'kind'].includes(sortBy)) throw new CliError(`--sort-by accepts only name or kind`);
    let rs = await ctx.discovery().preferredResources({ fresh: f.values['cached'] !== true });
    if (f.changed.has('api-group')) rs = rs.filter((r) => r.group === f.values['api-group']);
    if (f.changed.has('namespaced')) rs = rs.filter((r) => r.namespaced === f.values['namespaced']);
    const verbs = f.values['verbs'] as string[];
    if (verbs.length > 0) rs = rs.filter((r) => verbs.every((v) => r.verbs.includes(v)));
    const cats = f.values['categories'] as string[];
    if (cats.length > 0) rs = rs.filter((r) => cats.every((c) => r.categories.includes(c)));
    // Stable sort by the chosen field; without one kubectl orders by API group.
    const key = (r: ApiResourceInfo): string => (sortBy === 'name' ? r.name : sortBy === 'kind' ? r.kind : r.group);
    rs = [...rs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const gv = (r: ApiResourceInfo): string => (r.group === '' ? r.version : `${r.group}/${r.version}`);
    if (out === 'name') {
      ctx.out(rs.map((r) => `${r.group === '' ? r.name : `${r.name}.${r.group}`}\n`).join(''));
      return;
    }
    const lines: string[] = [];
    if (f.values['no-headers'] !== true) lines.push(out === 'wide' ? 'NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND\tVERBS\tCATEGORIES' : 'NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND');
    for (const r of rs) {
      const cells = [r.name, r.shortNames.join(','), gv(r), String(r.namespaced), r.kind];
      if (out === 'wide') cells.push(r.verbs.join(','), r.categories.join(','));
      lines.push(cells.join('\t'));
    }
    ctx.out(tabwrite(lines));
  },
};
