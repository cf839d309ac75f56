/** `skiff cluster-info`: the control plane address and the cluster services labelled kubernetes.io/cluster-service. */
import type { VerbCommand } from '../command.ts';

interface ServiceList {
  items: { metadata?: { name?: string; labels?: Record<string, string> }; spec?: { ports?: { name?: string; port?: number }[] }; status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } }[];
}

/** `skiff cluster-info`. */
export const command: VerbCommand = {
  use: 'cluster-info [flags] [options]',
  short: 'Display addresses of the control plane and services with label kubernetes.io/cluster-service=true.',
  flags: [],
  async run(ctx) {
    const server = ctx.clientConfig().server;
    const svcs = await ctx.rest().request<ServiceList>({
      path: '/api/v1/namespaces/kube-system/services',
      query: { labelSelector: 'kubernetes.io/cluster-service=true' },
      accept: 'application/json, */*',
    });
    let out = `Kubernetes control plane is running at ${server}\n`;
    for (const s of svcs.body.items ?? []) {
      const name = s.metadata?.labels?.['kubernetes.io/name'] ?? s.metadata?.name ?? '';
      const ingress = s.status?.loadBalancer?.ingress?.[0];
      let link: string;
      if (ingress) {
        link = `http://${ingress.ip || ingress.hostname}:${s.spec?.ports?.[0]?.port ?? ''}`;
      } else {
        const port = s.spec?.ports?.[0];
        const portName = port?.name || String(port?.port ?? '');
        link = `${server}/api/v1/namespaces/kube-system/services/${portName ? `${s.metadata?.name}:${portName}` : s.metadata?.name}/proxy`;
      }
      out += `${name} is running at ${link}\n`;
    }
    out += `\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n`;
    ctx.out(out);
  },
};
