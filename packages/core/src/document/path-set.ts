import type { Patch } from 'immer'

/**
 * The paths some patches touch, to tell whether other patches commute with them. Rebasing
 * pending local changes on every remote fragment costs one immer pass over all of them;
 * when the remote patches touch none of their paths, applying the remote patches on top of
 * the visible state gives the same result for far less.
 *
 * A path is cut at its first array index: inserting or removing an element shifts the
 * others, so two changes inside the same array never commute here. Adding or removing a key
 * counts as touching its parent object, because it changes the order of the parent's keys,
 * and replicas must be equal down to key order (applications iterate it).
 */
export class PathSet {
  readonly #paths = new Set<string>()
  readonly #prefixes = new Set<string>()

  constructor(patchLists: Iterable<readonly Patch[]>) {
    for (const patches of patchLists) {
      for (const patch of patches) {
        const parts = normalize(patch)
        this.#paths.add(parts.join(SEP))
        for (let i = 0; i <= parts.length; i++) this.#prefixes.add(parts.slice(0, i).join(SEP))
      }
    }
  }

  get empty(): boolean {
    return this.#paths.size === 0
  }

  /** True if any patch touches a path in the set, inside one, or above one. */
  overlaps(patches: readonly Patch[]): boolean {
    for (const patch of patches) {
      const parts = normalize(patch)
      if (this.#prefixes.has(parts.join(SEP))) return true
      for (let i = 0; i < parts.length; i++) if (this.#paths.has(parts.slice(0, i).join(SEP))) return true
    }
    return false
  }
}

const SEP = '\u0000'

function normalize(patch: Patch): string[] {
  const path = patch.op === 'replace' ? patch.path : patch.path.slice(0, -1)
  const out: string[] = []
  for (const part of path) {
    if (typeof part === 'number') break
    out.push(String(part))
  }
  return out
}
