import type { Patch } from 'immer'
import { applyOp, composeOps, insertOp, removeOp, replaceOp, type Op } from './ot.js'
import type { FragmentBody } from '../protocol/ops.js'

/**
 * The op of a fragment body. Fragments stored before operations carry immer patches; they
 * were sequenced already, so each becomes the positional op it always meant, against the
 * state it applies to (an `add` on an existing key was a replace). Throws when a patch does
 * not fit that state, like any op.
 */
export function opOf(body: FragmentBody, state: unknown): Op {
  if (body.patches === undefined) return body.op
  let op: Op = null
  let current = state
  for (const patch of body.patches) {
    const step = patchOp(patch, current)
    current = applyOp(current, step)
    op = composeOps(op, step)
  }
  return op
}

function patchOp(patch: Patch, state: unknown): Op {
  const path = patch.path as Array<string | number>
  if (patch.op === 'remove') return removeOp(path)
  let parent = state as Record<string | number, unknown> | undefined
  for (const key of path.slice(0, -1)) parent = parent?.[key] as Record<string | number, unknown> | undefined
  const last = path[path.length - 1]
  if (path.length === 0) return replaceOp(path, true, patch.value)
  if (Array.isArray(parent)) {
    // immer's array paths are numbers; `length` replaces shorten the array.
    if (last === 'length') {
      let op: Op = null
      for (let i = parent.length - 1; i >= (patch.value as number); i--) op = composeOps(op, removeOp([...path.slice(0, -1), i]))
      return op
    }
    return patch.op === 'add' ? insertOp(path, patch.value) : replaceOp(path, true, patch.value)
  }
  const exists = parent !== undefined && Object.prototype.hasOwnProperty.call(parent, last as string)
  return exists ? replaceOp(path, true, patch.value) : insertOp(path, patch.value)
}
