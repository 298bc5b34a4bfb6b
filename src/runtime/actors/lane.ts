/**
 * An intrusive FIFO: nodes carry their own `prev`/`next` links, so pushing,
 * popping and removing from the middle (a priority upgrade, a `forget`) are
 * O(1) and allocate nothing. A node is in at most one lane at a time; the
 * owner tracks which.
 */
export interface LaneNode<T> {
  prev: T | null;
  next: T | null;
}

export class Lane<T extends LaneNode<T>> {
  #head: T | null = null;
  #tail: T | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The node `shift()` would return, left in place. */
  get first(): T | null {
    return this.#head;
  }

  push(node: T): void {
    node.prev = this.#tail;
    node.next = null;
    if (this.#tail === null) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#size++;
  }

  shift(): T | null {
    const node = this.#head;
    if (node !== null) this.remove(node);
    return node;
  }

  /** Unlinks `node`, which must be in this lane. */
  remove(node: T): void {
    if (node.prev === null) this.#head = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = null;
    node.next = null;
    this.#size--;
  }

  /** Empties the lane, unlinking every node so none keeps another alive. */
  clear(): void {
    let node = this.#head;
    while (node !== null) {
      const next: T | null = node.next;
      node.prev = null;
      node.next = null;
      node = next;
    }
    this.#head = null;
    this.#tail = null;
    this.#size = 0;
  }
}
