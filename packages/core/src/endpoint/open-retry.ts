import type { Replica } from '../document/replica.js'

/** The longest wait between two OPENs of one document, in units of `resendMs`. */
export const OPEN_RETRY_CAP = 4

/**
 * When an unanswered OPEN goes up again: `resendMs` after it, then twice as long after each
 * retry, up to `OPEN_RETRY_CAP × resendMs`, each wait stretched by a random 0–50 %. A starved
 * parent is slow to serve a crowd's opens; retried at a fixed pace, every tab asked again
 * together and the parent served many opens twice (2,641 OPEN for 1,000 tabs in one run of
 * issue 19's bench). Never sooner than `resendMs`: that option stays the shortest wait.
 *
 * The state is kept here, by replica, and keyed by the OPEN's time (`replica.openedAt`): an
 * OPEN sent for another reason (a re-join, a new parent, the parent forgot it) starts over.
 */
export class OpenRetries {
  readonly #state = new WeakMap<Replica, { openedAt: number; tries: number; waitMs: number }>()

  constructor(private readonly random: () => number = Math.random) {}

  /** True when the replica's last OPEN has waited long enough to be sent again. */
  due(replica: Replica, now: number, resendMs: number): boolean {
    let s = this.#state.get(replica)
    if (s?.openedAt !== replica.openedAt) {
      s = { openedAt: replica.openedAt, tries: 0, waitMs: this.wait(0, resendMs) }
      this.#state.set(replica, s)
    }
    return now - s.openedAt > s.waitMs
  }

  /** The OPEN was just sent again (`replica.openedAt` is its time): the next wait is longer. */
  resent(replica: Replica, resendMs: number): void {
    const tries = (this.#state.get(replica)?.tries ?? 0) + 1
    this.#state.set(replica, { openedAt: replica.openedAt, tries, waitMs: this.wait(tries, resendMs) })
  }

  /** The wait after `tries` retries. */
  wait(tries: number, resendMs: number): number {
    return Math.min(resendMs * 2 ** tries, resendMs * OPEN_RETRY_CAP) * (1 + this.random() / 2)
  }
}
