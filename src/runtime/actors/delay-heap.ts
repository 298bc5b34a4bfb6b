/**
 * An intrusive binary min-heap ordered by `time` (a due time). Nodes remember
 * their array position in `heapIndex` (-1 when not in the heap), so moving a
 * due time earlier and removing an arbitrary node are O(log n) without any
 * search or tombstones. One heap per controller replaces one timer per key.
 */
export interface HeapNode {
  time: number;
  heapIndex: number;
}

export class DelayHeap<T extends HeapNode> {
  #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(node: T): void {
    node.heapIndex = this.#items.length;
    this.#items.push(node);
    this.#siftUp(node.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `node`, which must be in this heap. */
  remove(node: T): void {
    const items = this.#items;
    const index = node.heapIndex;
    const last = items.pop() as T;
    node.heapIndex = -1;
    if (last === node) return;
    items[index] = last;
    last.heapIndex = index;
    this.#siftDown(index);
    this.#siftUp(last.heapIndex);
  }

  /** Restores order after `node.time` decreased. */
  decreased(node: T): void {
    this.#siftUp(node.heapIndex);
  }

  clear(): void {
    for (const node of this.#items) node.heapIndex = -1;
    this.#items = [];
  }

  #siftUp(index: number): void {
    const items = this.#items;
    const node = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.time <= node.time) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = node;
    node.heapIndex = index;
  }

  #siftDown(index: number): void {
    const items = this.#items;
    const length = items.length;
    const node = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && (items[right] as T).time < (items[left] as T).time) child = right;
      const childNode = items[child] as T;
      if (childNode.time >= node.time) break;
      items[index] = childNode;
      childNode.heapIndex = index;
      index = child;
    }
    items[index] = node;
    node.heapIndex = index;
  }
}
