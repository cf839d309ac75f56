/**
 * A container's root filesystem: an overlay mount of the image's shared, unpacked layers with a private upper
 * directory, or — where overlayfs is unavailable — a private copy of the layers applied in order.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { applyLayerCopy } from './unpack.ts';

let overlayProbe: boolean | undefined;

/** Whether overlayfs mounts work here (probed once with a real mount in `scratchDir`). */
export function overlaySupported(scratchDir: string): boolean {
  if (overlayProbe !== undefined) return overlayProbe;
  const probe = join(scratchDir, `.overlay-probe-${process.pid}`);
  try {
    for (const d of ['l', 'u', 'w', 'm']) fs.mkdirSync(join(probe, d), { recursive: true });
    const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${join(probe, 'l')},upperdir=${join(probe, 'u')},workdir=${join(probe, 'w')}`, join(probe, 'm')], { encoding: 'utf8' });
    overlayProbe = r.status === 0;
    if (overlayProbe) spawnSync('umount', [join(probe, 'm')]);
  } catch {
    overlayProbe = false;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
  return overlayProbe;
}

/** How a rootfs was made. */
export type RootfsMode = 'overlay' | 'copy';

/**
 * Makes `<containerDir>/rootfs` from `layerDirs` (bottom first): an overlay mount when `mode` is overlay, else a
 * copy. The upper and work directories live beside it. Returns the rootfs path.
 */
export function prepareRootfs(layerDirs: string[], containerDir: string, opts: { mode: RootfsMode }): string {
  const rootfs = join(containerDir, 'rootfs');
  fs.mkdirSync(rootfs, { recursive: true });
  if (opts.mode === 'copy') {
    for (const l of layerDirs) applyLayerCopy(l, rootfs);
    return rootfs;
  }
  const m = overlayMount(layerDirs, containerDir);
  execFileSync(m.argv[0]!, m.argv.slice(1), { cwd: m.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  return rootfs;
}

/**
 * The overlay rootfs of a container without mounting it: makes the rootfs, upper and work directories and returns
 * the `mount` command (run it in `cwd`), so that a caller can run it off the main thread or with other commands.
 */
export function overlayMount(layerDirs: string[], containerDir: string): { rootfs: string; argv: string[]; cwd: string | undefined } {
  const rootfs = join(containerDir, 'rootfs');
  fs.mkdirSync(rootfs, { recursive: true });
  const upper = join(containerDir, 'upper');
  const work = join(containerDir, 'work');
  fs.mkdirSync(upper, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  let lowers = [...layerDirs].reverse();
  // An image without layers still needs one lower directory.
  if (lowers.length === 0) {
    const empty = join(containerDir, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    lowers = [empty];
  }
  // Relative lower paths (mount runs in their parent) keep the option under the one-page limit for deep images.
  const cwd = dirname(lowers[0]!);
  const sameParent = lowers.every((l) => dirname(l) === cwd);
  const lowerOpt = sameParent ? lowers.map((l) => relative(cwd, l)).join(':') : lowers.join(':');
  return { rootfs, argv: ['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerOpt},upperdir=${upper},workdir=${work}`, rootfs], cwd: sameParent ? cwd : undefined };
}

/** Whether `path` is a mount point (per /proc/self/mountinfo). */
export function isMountPoint(path: string): boolean {
  try {
    const info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    return info.split('\n').some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  let info: string;
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return parseMountsUnder(info, dir);
}

async function mountsUnderAsync(dir: string): Promise<string[]> {
  let info: string;
  try {
    info = await fs.promises.readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return parseMountsUnder(info, dir);
}

function parseMountsUnder(info: string, dir: string): string[] {
  const out = new Set<string>();
  for (const l of info.split('\n')) {
    const mp = l.split(' ')[4];
    if (mp && (mp === dir || mp.startsWith(`${dir}/`))) out.add(mp.replace(/\\040/g, ' '));
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `dir` (lazily when busy). */
export function unmountAll(dir: string): void {
  for (const mp of mountsUnder(dir)) {
    const r = spawnSync('umount', [mp], { encoding: 'utf8' });
    if (r.status !== 0) spawnSync('umount', ['-l', mp]);
  }
}

/** Removes a container's rootfs: unmounts it and deletes the container's private directories. */
export function removeRootfs(containerDir: string): void {
  unmountAll(containerDir);
  for (const d of ['rootfs', 'upper', 'work', 'empty']) fs.rmSync(join(containerDir, d), { recursive: true, force: true });
}

/** Runs a command; resolves with its exit status (the runtime passes its off-thread spawner). */
export type UnmountRunner = (file: string, args: string[]) => Promise<{ code: number | null }>;

/** removeRootfs without blocking: one `umount` for every mount point under the container (lazily where busy), then the directories. */
export async function removeRootfsAsync(containerDir: string, run: UnmountRunner): Promise<void> {
  // Only the overlay's own mount point is expected; the mount table (long with a hundred containers) is read only
  // when it is not the single one there.
  const rootfs = join(containerDir, 'rootfs');
  if ((await run('umount', [rootfs])).code === 0 && (await mountsUnderAsync(containerDir)).length === 0) {
    await Promise.all(['rootfs', 'upper', 'work', 'empty'].map((d) => fs.promises.rm(join(containerDir, d), { recursive: true, force: true })));
    return;
  }
  const mps = await mountsUnderAsync(containerDir);
  if (mps.length > 0 && (await run('umount', mps)).code !== 0) {
    for (const mp of await mountsUnderAsync(containerDir)) await run('umount', ['-l', mp]);
  }
  await Promise.all(['rootfs', 'upper', 'work', 'empty'].map((d) => fs.promises.rm(join(containerDir, d), { recursive: true, force: true })));
}
