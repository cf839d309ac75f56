/** A binary heap with keyed add/update/delete (the scheduler queue's internal heap). */

/** A min-heap by `less`, addressable by key. */
export class Heap<T> {
  private items: T[] = [];
  private readonly index = new Map<string, number>();
  private readonly keyOf: (v: T) => string;
  private readonly less: (a: T, b: T) => boolean;

  constructor(keyOf: (v: T) => string, less: (a: T, b: T) => boolean) {
    this.keyOf = keyOf;
    this.less = less;
  }

  /** Number of items. */
  get size(): number {
    return this.items.length;
  }

  /** True when an item with this key is present. */
  has(key: string): boolean {
    return this.index.has(key);
  }

  /** The item with this key. */
  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  /** Adds or replaces (by key) an item. */
  addOrUpdate(v: T): void {
    const key = this.keyOf(v);
    const i = this.index.get(key);
    if (i !== undefined) {
      this.items[i] = v;
      this.fix(i);
      return;
    }
    this.items.push(v);
    this.index.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  /** Removes the item with this key; returns it. */
  delete(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const v = this.items[i] as T;
    const last = this.items.length - 1;
    if (i !== last) this.swap(i, last);
    this.items.pop();
    this.index.delete(key);
    if (i < this.items.length) this.fix(i);
    return v;
  }

  /** The smallest item without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Removes and returns the smallest item. */
  pop(): T | undefined {
    const v = this.items[0];
    if (v === undefined) return undefined;
    this.delete(this.keyOf(v));
    return v;
  }

  /** Every item, in no particular order. */
  list(): T[] {
    return [...this.items];
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.items[i] as T, this.items[parent] as T)) break;
      this.swap(i, parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      let m = l;
      const r = l + 1;
      if (r < n && this.less(this.items[r] as T, this.items[l] as T)) m = r;
      if (!this.less(this.items[m] as T, this.items[i] as T)) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const x = this.items[a] as T;
    const y = this.items[b] as T;
    this.items[a] = y;
    this.items[b] = x;
    this.index.set(this.keyOf(y), a);
    this.index.set(this.keyOf(x), b);
  }
}
