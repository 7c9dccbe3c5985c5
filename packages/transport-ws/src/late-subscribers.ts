/**
 * What a gated PUB keeps for a session it has just admitted to a topic prefix but whose SUB has
 * not subscribed to it yet.
 *
 * A peer's PUSH and SUB are two WebSocket connections that open and speak independently, so
 * its HELLO (on the PUSH) often reaches the endpoint before its subscriptions (on the SUB): with
 * a thousand tabs connecting at once, about half of them. The endpoint admits the session to
 * `e/<id>` and publishes the welcome there at once; without a subscriber the PUB would drop it,
 * as ZeroMQ does, and the tab would wait for its next hello (250 ms to 2 s later, and more
 * hellos for a busy edge). Only a gated PUB knows that a topic is meant for a session (the
 * admission says so), so it can keep those frames for that session instead.
 *
 * Frames are kept only in the first {@link LATE_SUBSCRIBER_WAIT_MS} after an admission (each
 * admission of the same prefix starts the wait again), at most {@link LATE_SUBSCRIBER_FRAMES}
 * per session: a subscription that arrives late hears what was meant for it, in order, and one
 * that never arrives costs a bounded amount of memory for a bounded time. A session that
 * unsubscribes later loses frames as before (the wait is over by then).
 */

/** How long after an admission frames are kept for a session that has not subscribed yet. */
export const LATE_SUBSCRIBER_WAIT_MS = 10_000

/** Most frames kept for one session; more are dropped (counted as `droppedByHwm`). */
export const LATE_SUBSCRIBER_FRAMES = 64

/** One frame kept for a session. */
export interface HeldFrame {
  readonly topic: string
  readonly frame: Uint8Array
  /** Until when it may still be delivered. */
  readonly until: number
}

export class LateSubscribers {
  /** prefix → session → until when frames on it are kept for that session. */
  private readonly waits = new Map<string, Map<string, number>>()
  /** How many prefixes in `waits` there are of each length (a send looks up only those). */
  private readonly lengths = new Map<number, number>()
  /** session → its prefixes in `waits`. */
  private readonly prefixesOf = new Map<string, Set<string>>()
  /** session → frames kept for it, oldest first. */
  private readonly held = new Map<string, HeldFrame[]>()
  private heldBytes = 0
  private sweptAt = 0

  constructor(
    private readonly maxBytes: number,
    private readonly waitMs = LATE_SUBSCRIBER_WAIT_MS,
  ) {}

  /** Whether any admission is still in its wait (otherwise a send has nothing to look up). */
  get waiting(): boolean {
    return this.waits.size > 0
  }

  /** Bytes of the frames kept now. */
  get bytes(): number {
    return this.heldBytes
  }

  /** `session` was admitted to `prefix` now: frames on it are kept for it for a while. */
  admitted(session: string, prefix: string, now: number): void {
    if (now - this.sweptAt >= this.waitMs) this.sweep(now)
    let sessions = this.waits.get(prefix)
    if (!sessions) {
      this.waits.set(prefix, (sessions = new Map()))
      this.lengths.set(prefix.length, (this.lengths.get(prefix.length) ?? 0) + 1)
    }
    sessions.set(session, now + this.waitMs)
    let prefixes = this.prefixesOf.get(session)
    if (!prefixes) this.prefixesOf.set(session, (prefixes = new Set()))
    prefixes.add(prefix)
  }

  /** `session` lost `prefix` (or everything): nothing more is kept for it there. */
  revoked(session: string, prefix?: string): void {
    const prefixes = this.prefixesOf.get(session)
    if (prefixes) for (const p of prefix === undefined ? [...prefixes] : prefixes.has(prefix) ? [prefix] : []) this.stopWaiting(session, p)
    const held = this.held.get(session)
    if (!held) return
    const kept = prefix === undefined ? [] : held.filter((h) => !h.topic.startsWith(prefix))
    this.setHeld(session, held, kept)
  }

  /** Sessions still in the wait of an admission that covers `topic`. */
  sessionsFor(topic: string, now: number): string[] {
    const found: string[] = []
    for (const length of this.lengths.keys()) {
      if (length > topic.length) continue
      const prefix = length === topic.length ? topic : topic.slice(0, length)
      const sessions = this.waits.get(prefix)
      if (!sessions) continue
      for (const [session, until] of sessions) {
        if (until < now) this.stopWaiting(session, prefix)
        else if (!found.includes(session)) found.push(session)
      }
    }
    return found
  }

  /** Keeps `frame` for `session` until `until`; false when its share is full (the frame is dropped). */
  hold(session: string, topic: string, frame: Uint8Array, now: number): boolean {
    const held = this.live(session, now)
    if (held.length >= LATE_SUBSCRIBER_FRAMES || this.heldBytes + frame.byteLength > this.maxBytes) return false
    held.push({ topic, frame, until: now + this.waitMs })
    this.heldBytes += frame.byteLength
    if (held.length === 1) this.held.set(session, held)
    return true
  }

  /** Takes the frames kept for `session` that a subscription to `prefix` now lets through, in order. */
  take(session: string, prefix: string, now: number): HeldFrame[] {
    const held = this.live(session, now)
    if (held.length === 0) return []
    const taken = held.filter((h) => h.topic.startsWith(prefix))
    if (taken.length > 0)
      this.setHeld(
        session,
        held,
        held.filter((h) => !h.topic.startsWith(prefix)),
      )
    return taken
  }

  clear(): void {
    this.waits.clear()
    this.lengths.clear()
    this.prefixesOf.clear()
    this.held.clear()
    this.heldBytes = 0
  }

  /** The session's kept frames without the expired ones. */
  private live(session: string, now: number): HeldFrame[] {
    const held = this.held.get(session)
    if (!held) return []
    if (held[0]!.until >= now) return held
    return this.setHeld(
      session,
      held,
      held.filter((h) => h.until >= now),
    )
  }

  private setHeld(session: string, before: HeldFrame[], after: HeldFrame[]): HeldFrame[] {
    for (const h of before) this.heldBytes -= h.frame.byteLength
    for (const h of after) this.heldBytes += h.frame.byteLength
    if (after.length > 0) this.held.set(session, after)
    else this.held.delete(session)
    return after
  }

  private stopWaiting(session: string, prefix: string): void {
    const sessions = this.waits.get(prefix)
    if (sessions?.delete(session) && sessions.size === 0) {
      this.waits.delete(prefix)
      const left = (this.lengths.get(prefix.length) ?? 1) - 1
      if (left > 0) this.lengths.set(prefix.length, left)
      else this.lengths.delete(prefix.length)
    }
    const prefixes = this.prefixesOf.get(session)
    if (prefixes?.delete(prefix) && prefixes.size === 0) this.prefixesOf.delete(session)
  }

  /** Forgets expired waits and frames of sessions that never came back to ask. */
  private sweep(now: number): void {
    this.sweptAt = now
    for (const [prefix, sessions] of [...this.waits]) for (const [session, until] of [...sessions]) if (until < now) this.stopWaiting(session, prefix)
    for (const session of [...this.held.keys()]) this.live(session, now)
  }
}
