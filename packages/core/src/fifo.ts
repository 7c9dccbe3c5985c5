/**
 * A first-in first-out queue with O(1) shift. Queues here hold up to tens of thousands of
 * messages, where `Array.prototype.shift` would copy the whole array each time.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  /** Adds at the end. */
  push(item: T): void {
    this.items.push(item)
  }

  /** The first item, left in place. */
  peek(): T | undefined {
    return this.items[this.head]
  }

  /** Removes and returns the first item. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head++
    // Compact once the consumed prefix dominates, keeping memory proportional to the content.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const all = this.items.slice(this.head) as T[]
    this.clear()
    return all
  }

  /** Empties the queue. */
  clear(): void {
    this.items = []
    this.head = 0
  }
}
