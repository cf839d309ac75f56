/** `skiff api-versions`: every served group/version from fresh discovery, sorted. */
import type { VerbCommand } from '../command.ts';

/** `skiff api-versions`. */
export const command: VerbCommand = {
  use: 'api-versions [options]',
  short: 'Print the supported API versions on the server, in the form of "group/version".',
  flags: [],
  async run(ctx) {
    const groups = await ctx.discovery().groups({ fresh: true });
    const all = groups.flatMap((g) => g.versions.map((v) => (g.name === '' ? v : `${g.name}/${v}`)));
    all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    ctx.out(all.map((v) => `${v}\n`).join(''));
  },
};
