/**
 * `skiff images import|ls|rm`: manage the image store of the agent on this machine (under the data dir given to
 * `skiff server`/`skiff agent`, default ~/.skiff). Import takes `docker save` and OCI-archive tarballs.
 */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { importArchive } from '../agent/images/archive.ts';
import { imageStoreDir, openImageStore } from '../agent/images/store.ts';
import type { ImageRecord } from '../agent/images/store.ts';

/** Options of registerImagesCommands (tests capture the output). */
export interface ImagesCommandOptions {
  out?: (text: string) => void;
}

function defaultDataDir(): string {
  return process.env['SKIFF_DATA_DIR'] ?? join(homedir(), '.skiff');
}

function humanSize(b: number): string {
  if (b < 1000) return `${b}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = b;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

/** crictl-style rows: IMAGE, TAG, IMAGE ID, SIZE (one row per tag; untagged images show <none>). */
export function formatImageTable(images: ImageRecord[]): string {
  const rows: string[][] = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
  for (const img of images) {
    const id = img.id.slice(7, 20);
    const tags = img.repoTags.length > 0 ? img.repoTags : ['<none>:<none>'];
    for (const t of tags) {
      const i = t.lastIndexOf(':');
      rows.push([t.slice(0, i), t.slice(i + 1), id, humanSize(img.size)]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('')).join('\n') + '\n';
}

/** Registers `skiff images` and its subcommands on `program`. */
export function registerImagesCommands(program: Command, opts: ImagesCommandOptions = {}): void {
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const images = program.command('images').description("manage the node's image store (import archives, list, remove)");
  const store = (o: { dataDir: string }) => openImageStore(imageStoreDir(resolve(o.dataDir)));
  images
    .command('import <file>')
    .description('import a docker-archive or OCI-archive tarball (docker save, skopeo copy … oci-archive:)')
    .option('--name <ref>', 'name for an image the archive does not name with a full reference')
    .option('--data-dir <dir>', 'the data dir of skiff server / skiff agent', defaultDataDir())
    .action(async (file: string, o: { dataDir: string; name?: string }) => {
      const recs = await importArchive(store(o), resolve(file), o.name ? { name: o.name } : {});
      for (const r of recs) out(`imported ${r.repoTags.join(', ') || r.id} (${r.id.slice(0, 19)})\n`);
    });
  images
    .command('ls')
    .alias('list')
    .description('list the images in the store')
    .option('-q, --quiet', 'print image ids only')
    .option('--data-dir <dir>', 'the data dir of skiff server / skiff agent', defaultDataDir())
    .action((o: { dataDir: string; quiet?: boolean }) => {
      const list = store(o).list();
      if (o.quiet) out(list.map((i) => `${i.id}\n`).join(''));
      else out(formatImageTable(list));
    });
  images
    .command('rm <refs...>')
    .alias('remove')
    .description('remove images by reference or id (a tag is untagged; the image goes with its last tag)')
    .option('--data-dir <dir>', 'the data dir of skiff server / skiff agent', defaultDataDir())
    .action(async (refs: string[], o: { dataDir: string }) => {
      const s = store(o);
      for (const ref of refs) {
        const r = await s.remove(ref);
        for (const t of r.untagged) out(`Untagged: ${t}\n`);
        if (r.deleted) out(`Deleted: ${r.deleted}\n`);
      }
    });
}
