import { newEndpointId, type EndpointId } from '@zinc/core'
import type { LeafDatabase, SlotRecord } from './database.js'

/** What the claim needs from the browser; each part may be missing (then null). */
export interface ClaimPorts {
  /** navigator.locks: a slot is held by exactly one live tab. */
  locks: LockManager | null
  /** sessionStorage: which slot this tab had (kept across a reload, per tab). */
  session: Pick<Storage, 'getItem' | 'setItem'> | null
  /** How long to wait for this tab's own slot (its previous page may still be unloading). */
  waitForOwnMs: number
}

/** A claimed identity: held until `release`. */
export interface Claim {
  id: EndpointId
  /** Lets the identity go (another tab may claim it). */
  release(): void
}

/**
 * Claims an identity (a slot) for this tab. The rules, so that a tab keeps its identity across
 * a reload but two live tabs never share one (the root would take one tab's changes for the
 * other's duplicates, by (origin, clientSeq)):
 *
 * - A slot is held through a Web Lock for as long as the page lives; the browser releases it
 *   when the page goes (reload, close, crash). No lock, no slot.
 * - A tab first asks for the slot it had (sessionStorage survives a reload, per tab); after a
 *   reload it waits a little for its previous page to let go of it.
 * - A duplicated tab copies sessionStorage, but its original still holds that slot: it takes
 *   another free slot (a closed tab's, with any changes it left unsent — they are sent now,
 *   once) or a new one.
 * - Without Web Locks, only the slot this tab had is reused (so a duplicated tab may share it:
 *   said in the README), otherwise a new one.
 */
export async function claimIdentity(db: LeafDatabase | undefined, name: string, ports: ClaimPorts): Promise<Claim> {
  const key = `zinc-leaf:${name}:slot`
  const own = safe(() => ports.session?.getItem(key) ?? null)
  const slots: SlotRecord[] = db ? (await db.getAll('slots')).sort((a, b) => b.usedAt - a.usedAt) : []
  const known = new Set(slots.map((s) => s.id))
  let claim: Claim | undefined
  if (ports.locks) {
    const candidates = [...(own && known.has(own) ? [own] : []), ...slots.map((s) => s.id).filter((id) => id !== own)]
    for (const id of candidates) {
      const release = await acquire(ports.locks, `${key}:${id}`, id === own ? ports.waitForOwnMs : 0)
      if (release) {
        claim = { id: id as EndpointId, release }
        break
      }
    }
  } else if (own && known.has(own)) {
    claim = { id: own as EndpointId, release: () => {} }
  }
  if (!claim) {
    const id = newEndpointId()
    const release = ports.locks ? await acquire(ports.locks, `${key}:${id}`, 0) : () => {}
    claim = { id, release: release ?? (() => {}) }
  }
  const now = Date.now()
  const existing = slots.find((s) => s.id === claim.id)
  await db?.put('slots', { id: claim.id, createdAt: existing?.createdAt ?? now, usedAt: now }).catch(() => {})
  safe(() => ports.session?.setItem(key, claim.id))
  return claim
}

/** Holds the lock `name` until the returned function is called; undefined if it was not had within `waitMs` (0: only if free now). */
function acquire(locks: LockManager, name: string, waitMs: number): Promise<(() => void) | undefined> {
  return new Promise((resolve) => {
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    const options: LockOptions = waitMs > 0 ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true }
    locks
      .request(name, options, async (lock) => {
        if (!lock) return resolve(undefined)
        resolve(release)
        await held
      })
      .catch(() => resolve(undefined)) // timed out waiting
  })
}

function safe<T>(fn: () => T): T | null {
  try {
    return fn()
  } catch {
    return null // storage disabled (some private modes throw on access)
  }
}
