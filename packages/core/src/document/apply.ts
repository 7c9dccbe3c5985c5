import type { Patch } from 'immer'
import { applyPatches } from './immer.js'

/**
 * Applies several fragments' patches in one immer pass (one copy of every object on the
 * changed paths, however many fragments arrived in the tick). If the batch does not apply as
 * a whole, falls back to one fragment at a time so a single bad fragment is isolated.
 * Returns the new state and the indexes of the fragments that did not apply.
 */
export function applyBatch<S>(state: S, batch: ReadonlyArray<readonly Patch[]>): { state: S; failed: number[] } {
  if (batch.length === 0) return { state, failed: [] }
  if (batch.length === 1) {
    try {
      return { state: applyPatches(state as object, batch[0] as Patch[]) as S, failed: [] }
    } catch {
      return { state, failed: [0] }
    }
  }
  try {
    return { state: applyPatches(state as object, batch.flat() as Patch[]) as S, failed: [] }
  } catch {
    const failed: number[] = []
    let current = state
    batch.forEach((patches, i) => {
      try {
        current = applyPatches(current as object, patches as Patch[]) as S
      } catch {
        failed.push(i)
      }
    })
    return { state: current, failed }
  }
}
