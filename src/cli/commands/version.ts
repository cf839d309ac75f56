/** `skiff version`: the client's version and the server's /version, as kubectl prints them. */
import type { VerbCommand } from '../command.ts';
import { CliError } from '../errors.ts';
import { goYaml } from '../printers/encode.ts';

/** The version skiff reports for itself (the Kubernetes API level it speaks, plus its own version). */
export const clientVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+skiff.0.1.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-21T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'skiff',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

/** `skiff version`. */
export const command: VerbCommand = {
  use: 'version [flags] [options]',
  short: 'Print the client and server version information for the current context.',
  flags: [
    { name: 'client', type: 'bool', usage: 'If true, shows client version only (no server required).' },
    { name: 'output', short: 'o', type: 'string', usage: "One of 'yaml' or 'json'." },
  ],
  async run(ctx, f) {
    const out = String(f.values['output']);
    if (!['', 'json', 'yaml'].includes(out)) throw new CliError(`--output must be 'yaml' or 'json'`);
    const doc: Record<string, unknown> = { clientVersion };
    let serverErr: unknown;
    if (f.values['client'] !== true) {
      try {
        doc['serverVersion'] = (await ctx.rest().request<Record<string, string>>({ path: '/version', query: { timeout: '32s' } })).body;
      } catch (e) {
        serverErr = e;
      }
    }
    if (out === 'json') ctx.out(JSON.stringify(doc, null, 2) + '\n');
    else if (out === 'yaml') ctx.out(goYaml(doc));
    else {
      ctx.out(`Client Version: ${clientVersion.gitVersion}\n`);
      const sv = doc['serverVersion'] as { gitVersion?: string } | undefined;
      if (sv) ctx.out(`Server Version: ${sv.gitVersion ?? ''}\n`);
    }
    if (serverErr) throw serverErr;
  },
};
