import type { Patch } from 'immer'

/**
 * Array slots one fragment may leave empty (holes) beyond the arrays' lengths as the checking
 * endpoint sees them. Honest changes made on a slightly different state (a concurrent removal
 * already applied here) may point a little past the end; an attacker's
 * `{"op":"replace","path":["list",10000000]}` may not: 60 bytes that would become a 50 MB
 * snapshot of `null`s.
 */
export const MAX_HOLES_PER_FRAGMENT = 1024

/**
 * Why `patches` would grow an array out of proportion to their size, checked against `state`
 * (the checking endpoint's copy) — or `undefined` when they are fine. Refused: assigning an
 * array's `length` (immer never produces it; `length = 10_000_000` is a 50 MB document from a
 * 60-byte patch), a non-index key on an array, and indexes that together leave more than
 * {@link MAX_HOLES_PER_FRAGMENT} empty slots. Arrays created by earlier patches of the same
 * fragment are followed too. Linear in the patches' path lengths.
 */
export function arrayAmplification(state: unknown, patches: readonly Patch[]): string | undefined {
  // Lengths of arrays as this fragment leaves them, by path: the state's, then the patches'.
  const lengths = new Map<string, number>()
  let holes = 0
  for (const patch of patches) {
    const path = patch.path
    if (path.length === 0) continue
    const parentPath = path.slice(0, -1)
    const parentKey = JSON.stringify(parentPath)
    let length = lengths.get(parentKey)
    if (length === undefined) {
      const parent = resolve(state, parentPath)
      if (Array.isArray(parent)) length = parent.length
    }
    if (patch.op !== 'remove' && Array.isArray(patch.value)) lengths.set(JSON.stringify(path), patch.value.length)
    if (length === undefined) continue
    const key = path[path.length - 1]
    if (key === 'length') return `it assigns an array's length (at ${describePath(path)}); change arrays by inserting and removing items`
    if (key === '-' && patch.op === 'add') {
      lengths.set(parentKey, length + 1)
      continue
    }
    if (typeof key !== 'number') return `it uses the key ${JSON.stringify(key)} on an array (at ${describePath(path)})`
    if (patch.op === 'remove') {
      lengths.set(parentKey, Math.max(0, length - 1))
      continue
    }
    const end = patch.op === 'add' ? length : length - 1
    if (key > end) holes += key - end
    if (holes > MAX_HOLES_PER_FRAGMENT) {
      return `it writes index ${key} of an array of ${length} items (at ${describePath(path)}), which would leave more than ${MAX_HOLES_PER_FRAGMENT} empty slots`
    }
    lengths.set(parentKey, patch.op === 'add' ? Math.max(length, key) + 1 : Math.max(length, key + 1))
  }
  return undefined
}

function resolve(state: unknown, path: readonly (string | number)[]): unknown {
  let value = state
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined
    if (!Object.prototype.hasOwnProperty.call(value, key)) return undefined
    value = (value as Record<string | number, unknown>)[key]
  }
  return value
}

function describePath(path: readonly (string | number)[]): string {
  const text = '/' + path.join('/')
  return text.length > 80 ? `${text.slice(0, 77)}…` : text
}
