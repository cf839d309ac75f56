/** The /version document: Kubernetes API level 1.32 (kubectl's dispatcher picks its kubectl by the minor). */
export const SKIFF_VERSION = '0.1.0';

/** The body of GET /version. */
export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: `v1.32.0+skiff.${SKIFF_VERSION}`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-11-21T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'skiff',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
