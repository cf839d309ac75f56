/**
 * Listers: read-only views of an informer's cache (client-go's generated listers, generically). Objects are
 * shared with the cache: never mutate them — copy first (structuredClone) when preparing an update.
 */
import type { ObjectLike } from './object.ts';
import type { LabelSelector } from '../api/meta/labels.ts';
import { matchesLabels, parseLabelSelector } from '../api/meta/labels.ts';
import type { Indexer } from './indexer.ts';
import { namespaceIndex } from './indexer.ts';

/** A selector for Lister.list: a parsed LabelSelector, a selector string (`app=web,tier!=db`), or a predicate. */
export type ListSelector<T> = LabelSelector | string | ((obj: T) => boolean);

/** Reads objects of one resource from a cache. */
export class Lister<T extends ObjectLike = ObjectLike> {
  private readonly indexer: Indexer<T>;

  constructor(indexer: Indexer<T>) {
    this.indexer = indexer;
  }

  /**
   * The objects in `namespace` (every namespace when undefined or "") that match `selector` (everything
   * when omitted). A selector string that does not parse throws SelectorParseError.
   */
  list(namespace?: string, selector?: ListSelector<T>): T[] {
    const objs = namespace ? this.indexer.byIndex(namespaceIndex, namespace) : this.indexer.list();
    if (selector === undefined) return objs;
    const match = toPredicate(selector);
    return objs.filter(match);
  }

  /** The object `namespace/name` (pass "" as namespace for cluster-scoped kinds), or undefined. */
  get(namespace: string, name: string): T | undefined {
    return this.indexer.getByKey(namespace ? `${namespace}/${name}` : name);
  }

  /** The objects whose index `indexName` contains `value` (e.g. pods by node name). */
  byIndex(indexName: string, value: string): T[] {
    return this.indexer.byIndex(indexName, value);
  }
}

function toPredicate<T extends ObjectLike>(selector: ListSelector<T>): (obj: T) => boolean {
  if (typeof selector === 'function') return selector;
  const sel = typeof selector === 'string' ? parseLabelSelector(selector) : selector;
  if (sel.length === 0) return () => true;
  return (obj) => matchesLabels(sel, obj.metadata?.labels);
}
