import type { CoordinatedMember } from '@zinc/core'
import type { Etcd3, Lease } from 'etcd3'
import type { LeaderValue } from './leader-record.js'
import type { LeaseWindow } from './lease-window.js'

/** What a candidacy needs of its coordinator. */
export interface CandidacyContext {
  /** The coordinator's name, for logs. */
  readonly name: string
  readonly leaderPrefix: string
  readonly ttlSeconds: number
  readonly dialTimeoutMs: number
  /** When the lease is certainly still valid; every grant and renewal moves it. */
  readonly window: LeaseWindow
  client(): Etcd3
  member(): CoordinatedMember
  /** What the candidacy's key holds. */
  value(member: CoordinatedMember): LeaderValue
  closed(): boolean
  /** etcd says the lease is gone (expired, revoked). */
  leaseGone(why: string): void
  /** The lease could not be renewed within its TTL: stop leading. */
  lapse(why: string): void
}

/**
 * This member's candidacy in the election: a lease of its own and a key under the leader prefix
 * bound to it, renewed a third of a TTL after each renewal. Each renewal's send time moves the
 * lease window, so a root knows how long its lease is certainly valid.
 */
export class Candidacy {
  #lease: Lease | undefined
  #key = ''
  #renewTimer: ReturnType<typeof setTimeout> | undefined
  #campaigning: Promise<void> | undefined
  #grantedTtl = 0

  constructor(readonly ctx: CandidacyContext) {}

  /** Whether a lease stands for this member (its key may still be on its way). */
  get hasLease(): boolean {
    return this.#lease !== undefined
  }

  /** Our key under the leader prefix ('' while we have none). */
  get key(): string {
    return this.#key
  }

  /** Settles when the campaign in progress (if any) has put our key. */
  get campaigning(): Promise<void> | undefined {
    return this.#campaigning
  }

  /** The lease TTL etcd granted, in seconds (0 before the first grant). */
  get grantedTtl(): number {
    return this.#grantedTtl
  }

  /** Revokes this candidacy (its key goes with its lease). */
  async withdraw(): Promise<void> {
    const old = this.#lease
    this.#lease = undefined
    this.#key = ''
    clearTimeout(this.#renewTimer)
    await old?.revoke({ deadline: Date.now() + this.ctx.dialTimeoutMs }).catch(() => {})
  }

  /** A fresh lease and a fresh key bound to it: a new candidacy (and, if it wins, a new epoch). */
  campaign(): Promise<void> {
    this.#campaigning ??= (async () => {
      const client = this.ctx.client()
      const member = this.ctx.member()
      for (let attempt = 0; !this.ctx.closed(); attempt++) {
        let lease: Lease | undefined
        try {
          // Taken before the grant request leaves (the Lease sends it as it is made).
          const sentAt = performance.now()
          lease = client.lease(this.ctx.ttlSeconds, { autoKeepAlive: false })
          lease.on('lost', () => {})
          const id = await lease.grant()
          const ttl = await lease.keepaliveOnce({ deadline: Date.now() + this.ctx.dialTimeoutMs })
          this.#grantedTtl = Number(ttl.TTL)
          this.ctx.window.renewed(sentAt, this.#grantedTtl)
          const value = this.ctx.value(member)
          const key = `${this.ctx.leaderPrefix}${member.id}/${id}`
          await lease
            .put(key)
            .value(JSON.stringify(value))
            .options({ deadline: Date.now() + this.ctx.dialTimeoutMs })
            .exec()
          this.#lease = lease
          this.#key = key
          this.#scheduleRenewal()
          return
        } catch (error) {
          // The put may have reached etcd all the same: that key must not stand for us.
          void lease?.revoke({ deadline: Date.now() + this.ctx.dialTimeoutMs }).catch(() => {})
          if (attempt % 10 === 0) member.logger.warn({ err: error, coordinator: this.ctx.name }, 'entering the etcd election failed; retrying')
          await delay(Math.min(1000, 100 * (attempt + 1)))
        }
      }
    })().finally(() => (this.#campaigning = undefined))
    return this.#campaigning
  }

  /** Renews a third of a TTL after the last renewal, each request with a deadline. */
  #scheduleRenewal(): void {
    clearTimeout(this.#renewTimer)
    if (this.ctx.closed()) return
    this.#renewTimer = setTimeout(() => void this.#renew(), Math.max(100, (this.#grantedTtl * 1000) / 3))
  }

  async #renew(): Promise<void> {
    const lease = this.#lease
    if (!lease || this.ctx.closed()) return
    const sentAt = performance.now()
    try {
      const res = await lease.keepaliveOnce({ deadline: Date.now() + Math.max(200, this.ctx.window.remainingMs) })
      if (lease !== this.#lease) return
      const ttl = Number(res.TTL)
      if (!(ttl > 0)) return void this.ctx.leaseGone('etcd says the lease expired')
      this.ctx.window.renewed(sentAt, ttl)
    } catch (error) {
      if (lease !== this.#lease) return
      const message = (error as Error).message
      if (/not found|expired|revoked/i.test(message)) return void this.ctx.leaseGone(`etcd says the lease is gone (${message})`)
      this.ctx.member().logger.warn({ coordinator: this.ctx.name, reason: message.split('\n')[0] }, 'renewing the etcd lease failed')
      // Past the window the root already acknowledges nothing (mayConfirm); a renewal that
      // gets through resumes it, as nobody else can have led while our key stood. Once a whole
      // TTL has passed since the last renewal left, etcd has probably expired the lease: step
      // down and stand again.
      if (this.ctx.window.remainingMs < -this.ctx.window.marginMs(this.#grantedTtl * 1000)) this.ctx.lapse('the etcd lease could not be renewed within its TTL')
    }
    this.#scheduleRenewal()
  }

  /** No more renewals (closing). */
  stopRenewing(): void {
    clearTimeout(this.#renewTimer)
  }

  /** Gives the lease up (closing), waiting at most `ms`. */
  async revoke(ms: number): Promise<void> {
    await this.#lease?.revoke({ deadline: Date.now() + ms }).catch(() => {})
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
