/**
 * The ServiceAccounts controller (pkg/controller/serviceaccount): every active namespace has a `default`
 * ServiceAccount; it is created when a namespace appears and re-created when deleted.
 */
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { namespaces as namespacesDef, serviceaccounts as serviceAccountsDef } from '../../api/core/v1/index.ts';
import type { Lister, ResourceClient } from '../../client/index.ts';
import { isAlreadyExists, isTombstone } from '../../client/index.ts';
import type { Controller, ControllerContext } from '../controller.ts';
import { newQueue } from '../controller.ts';

/** The ServiceAccounts every namespace gets. */
export const defaultServiceAccounts = ['default'];

class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccount';
  readonly queue;
  readonly workers: number;
  private readonly nsLister: Lister<Namespace>;
  private readonly saLister: Lister<ServiceAccount>;
  private readonly saClient: ResourceClient<ServiceAccount>;

  constructor(ctx: ControllerContext) {
    this.queue = newQueue('serviceaccount', ctx.clock);
    this.workers = ctx.workers;
    const nsInf = ctx.informers.informerFor<Namespace>(namespacesDef);
    const saInf = ctx.informers.informerFor<ServiceAccount>(serviceAccountsDef);
    this.nsLister = nsInf.lister();
    this.saLister = saInf.lister();
    this.saClient = ctx.client.resource<ServiceAccount>(serviceAccountsDef);
    nsInf.addEventHandler({ onAdd: (n) => this.queue.add(n.metadata?.name ?? ''), onUpdate: (_o, n) => this.queue.add(n.metadata?.name ?? '') });
    saInf.addEventHandler({
      onDelete: (s) => {
        const sa = isTombstone(s) ? s.obj : s;
        if (defaultServiceAccounts.includes(sa.metadata?.name ?? '')) this.queue.add(sa.metadata?.namespace ?? '');
      },
    });
  }

  async reconcile(namespace: string): Promise<void> {
    const ns = this.nsLister.get('', namespace);
    if (!ns || ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    for (const name of defaultServiceAccounts) {
      if (this.saLister.get(namespace, name)) continue;
      try {
        await this.saClient.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } }, { namespace });
      } catch (e) {
        // Also refused while the namespace terminates: nothing to do then.
        if (!isAlreadyExists(e) && !(e instanceof Error && /being terminated/.test(e.message))) throw e;
      }
    }
  }
}

/** The ServiceAccounts controller. */
export function newServiceAccountsController(ctx: ControllerContext): Controller {
  return new ServiceAccountsController(ctx);
}
