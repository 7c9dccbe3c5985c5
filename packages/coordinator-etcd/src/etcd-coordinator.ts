import type { CoordinatedMember, Coordinator, EndpointId, Leader } from '@zinc/core'
import type { Etcd3, Watcher } from 'etcd3'
import { Candidacy } from './candidacy.js'
import { connectEtcd } from './connect.js'
import { followedOf, parseLeaderValue, takeOverLastLeader, type Followed, type LeaderValue } from './leader-record.js'
import { LeaseWindow } from './lease-window.js'
import type { ElectionHooks, EtcdCoordinatorOptions } from './election-options.js'

/**
 * Root election on etcd, the usual etcd recipe (what etcd's own `concurrency.Election` and the
 * etcd3 client's `Election` do): every member puts a key under `<prefix>leader/` bound to its
 * own lease; the key with the lowest create revision leads. The epoch is that key's create
 * revision: etcd issues it, it rises with every new leader key, and no two leaders share one.
 *
 * Why not etcd3's `Election` class itself: it keeps its lease private and renews it on its own
 * schedule, and its observer reports only the leader's value. A root must know when each
 * renewal was *sent* (to know how long its lease is certainly valid) and every member needs
 * the leader key's revision (the fencing epoch), so the recipe lives here (candidacy.ts) on
 * the same client. Why etcd3: it is the maintained Node client (gRPC, leases, watches, typed).
 */
export class EtcdCoordinator implements Coordinator {
  readonly name: string
  readonly #prefix: string
  readonly #ttlSeconds: number
  readonly #dialTimeoutMs: number
  readonly #window: LeaseWindow
  /** Our lease and the leader key bound to it, renewed. */
  readonly #candidacy: Candidacy
  #client: Etcd3 | undefined
  #member: CoordinatedMember | undefined
  #watcher: Watcher | undefined
  #pollTimer: ReturnType<typeof setInterval> | undefined
  #closed = false
  #leaderKey = ''
  #leaderEpoch = 0
  #issued = 0
  #leading = false
  /** The leader last followed, and its host: who handed over, when we are elected next. */
  #followed: Followed | undefined
  readonly #hooks: ElectionHooks | undefined
  /** While leading after a handover: the root that handed over and its host, until it has re-joined us or is gone. */
  #handedBy: { id: EndpointId; host: string; incarnation?: string } | undefined

  constructor(
    readonly options: EtcdCoordinatorOptions,
    hooks?: ElectionHooks,
  ) {
    this.#hooks = hooks
    if (!Array.isArray(options?.endpoints) || options.endpoints.length === 0 || !options.endpoints.every((e) => typeof e === 'string' && e.length > 0))
      throw new TypeError("etcd({ endpoints }) needs at least one etcd address, e.g. etcd({ endpoints: ['127.0.0.1:2379'] }).")
    const ttlMs = options.leaseTtlMs ?? 5000
    if (!(ttlMs > 0)) throw new TypeError(`etcd({ leaseTtlMs }) must be a positive number of milliseconds, got ${String(options.leaseTtlMs)}.`)
    this.#ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000))
    this.#prefix = options.prefix ?? 'zinc/'
    this.#dialTimeoutMs = options.dialTimeoutMs ?? 3000
    this.name = options.endpoints.map((e) => (e.includes('://') ? e.replace(/^https?:/, 'etcd:') : `etcd://${e}`)).join(',')
    const margin = options.marginMs
    this.#window = new LeaseWindow((ttl) => margin ?? Math.max(250, ttl / 5))
    this.#candidacy = new Candidacy({
      name: this.name,
      leaderPrefix: this.#leaderPrefix,
      ttlSeconds: this.#ttlSeconds,
      dialTimeoutMs: this.#dialTimeoutMs,
      window: this.#window,
      client: () => this.#client!,
      member: () => this.#member!,
      value: (member) => this.#leaderValue(member),
      closed: () => this.#closed,
      leaseGone: (why) => this.#leaseGone(why),
      lapse: (why) => this.#lapse(why),
    })
  }

  /** A shard may move to this member's host: recovery adopts documents from survivors. */
  get adoptsDocuments(): boolean {
    return this.#hooks !== undefined
  }

  /**
   * Before the root loads a document it does not hold: with per-host stores, refused while the
   * latest copy is in another host's store (DocumentRecords.check); otherwise at once.
   */
  checkDocument(doc: string, opening = true): Promise<void> {
    return this.#hooks?.records?.check(doc, opening) ?? Promise.resolve()
  }

  /** While leading after a handover: the host that handed the role over to us. */
  get handedOverBy(): string | undefined {
    return this.#handedBy?.host
  }

  /** Whether this member leads now (and may acknowledge). */
  get leading(): boolean {
    return this.#leading
  }

  get #standing(): boolean {
    return this.#hooks ? this.#hooks.stand() : true
  }

  get issuedEpoch(): number {
    return this.#issued
  }

  /** The lease TTL etcd granted, in ms (0 before the first grant). */
  get leaseTtlMs(): number {
    return this.#candidacy.grantedTtl * 1000
  }

  mayConfirm(): boolean {
    return this.#leading && this.#window.certain
  }

  async start(member: CoordinatedMember): Promise<void> {
    this.#member = member
    const hosts = this.options.endpoints
    const client = this.#hooks?.client ?? (await connectEtcd(hosts, this.#dialTimeoutMs))
    this.#client = client
    this.#watcher = await client.watch().prefix(this.#leaderPrefix).create()
    const recheck = () => {
      this.#checkHandover()
      void this.#refresh()
    }
    this.#watcher
      .on('put', recheck)
      .on('delete', recheck)
      .on('connected', recheck)
      .on('error', () => {})
    // A safety net under the watch (a reconnect can miss events): read the leader now and then.
    this.#pollTimer = setInterval(recheck, Math.max(200, (this.#ttlSeconds * 1000) / 4))
    if (this.#standing) await this.#candidacy.campaign()
    await this.#refresh()
  }

  /**
   * Stands or withdraws, as the shard assignment now says. Withdrawing while leading is a
   * clean handover: acknowledge nothing more, step down, then give the key up so the new
   * owner's candidacy leads at once (it recovers from us when we re-join it).
   */
  async restand(): Promise<void> {
    if (this.#closed || !this.#member) return
    this.#checkHandover()
    if (this.#standing) {
      if (!this.#candidacy.hasLease && !this.#candidacy.campaigning) {
        await this.#candidacy.campaign()
        await this.#refresh()
      }
      return
    }
    if (!this.#candidacy.hasLease && !this.#candidacy.campaigning) return
    await this.#candidacy.campaigning
    if (this.#standing) return
    if (this.#leading) {
      // Stored documents not in memory go over too: the next root recovers from what we hold.
      const owns = this.#hooks?.owns
      if (owns) await this.#member.prepareHandover?.(owns).catch((error: unknown) => this.#member?.logger.warn({ err: error }, 'loading the stored documents before a handover failed'))
      if (!this.#leading || this.#standing) return
      this.#leading = false
      this.#hooks?.records?.endTerm()
      this.#member.lapsed('the shard moved to another host: handing it over')
    }
    await this.#candidacy.withdraw()
    await this.#refresh()
  }

  /**
   * Our recovery waits without a time limit for the root that handed over; once its host is no
   * longer registered (it died, or closed) it never will re-join: stop waiting for it.
   */
  #checkHandover(): void {
    const by = this.#handedBy
    if (!by) return
    if (!this.#leading) return void (this.#handedBy = undefined)
    if (this.#hooks?.alive?.(by.host, by.incarnation) !== false) return
    this.#handedBy = undefined
    this.#member?.handoverGone?.(by.id, `its host ${by.host} is no longer registered in etcd (it died or closed)`)
  }

  get #leaderPrefix(): string {
    return `${this.#prefix}leader/`
  }

  #leaderValue(member: CoordinatedMember): LeaderValue {
    const host = this.#hooks?.host
    const incarnation = this.#hooks?.incarnation
    return {
      id: member.id,
      inbound: member.addresses.inbound,
      outbound: member.addresses.outbound,
      ...(host ? { host } : {}),
      ...(incarnation ? { incarnation } : {}),
      ...(this.#hooks?.stores ? { stores: true } : {}),
    }
  }

  /** The window closed without a renewal: stop leading now (the lease may still be alive at etcd). */
  #lapse(why: string): void {
    if (!this.#leading) return
    this.#leading = false
    this.#hooks?.records?.endTerm()
    this.#member?.lapsed(why)
    // Give up this candidacy: if the lease still exists, revoking it lets a successor in at
    // once; a new lease competes again (and, if it wins, under a new epoch).
    void this.#recampaign()
  }

  #leaseGone(why: string): void {
    this.#window.lost()
    if (this.#leading) this.#lapse(why)
    else void this.#recampaign()
  }

  async #recampaign(): Promise<void> {
    await this.#candidacy.withdraw()
    if (this.#closed) return
    if (this.#standing) await this.#candidacy.campaign()
    await this.#refresh()
  }

  #refreshing = false
  #refreshAgain = false

  /** Reads who leads (the lowest create revision under the prefix) and tells the member. */
  async #refresh(): Promise<void> {
    if (this.#refreshing) return void (this.#refreshAgain = true)
    this.#refreshing = true
    try {
      do {
        this.#refreshAgain = false
        await this.#refreshOnce()
      } while (this.#refreshAgain && !this.#closed)
    } finally {
      this.#refreshing = false
    }
  }

  async #refreshOnce(): Promise<void> {
    const client = this.#client
    const member = this.#member
    if (!client || !member || this.#closed) return
    let res
    try {
      res = await client
        .getAll()
        .prefix(this.#leaderPrefix)
        .sort('Create', 'Ascend')
        .limit(1)
        .options({ deadline: Date.now() + this.#dialTimeoutMs })
        .exec()
    } catch {
      // etcd unreachable: the renewal timer closes the window in time; the poll reads again.
      return
    }
    const kv = res.kvs[0]
    if (!kv) {
      if (!this.#candidacy.hasLease && !this.#candidacy.campaigning && this.#standing) void this.#candidacy.campaign().then(() => this.#refresh())
      return
    }
    const key = kv.key.toString()
    const epoch = Number(kv.create_revision)
    if (epoch > this.#issued) this.#issued = epoch
    if (key === this.#leaderKey && epoch === this.#leaderEpoch && (key !== this.#candidacy.key || this.#leading)) return
    this.#leaderKey = key
    this.#leaderEpoch = epoch
    if (key === this.#candidacy.key) {
      // Elected; take the role only while the lease is certainly ours.
      if (!this.#window.certain) return
      // Who led before us, as etcd recorded it (not only as we saw it: a member cut off from
      // etcd, or elected right as the key it would have followed went, never saw that leader).
      // Until the record is read and ours written, we do not lead; the poll tries again.
      const recorded = await takeOverLastLeader(client, this.#prefix, this.#candidacy.key, epoch, this.#leaderValue(member), member, this.#dialTimeoutMs)
      if (recorded === false || this.#leading || key !== this.#candidacy.key || !this.#window.certain || this.#closed) return
      this.#leading = true
      this.#hooks?.records?.newTerm(key, epoch)
      // No record at all (a deployment from before the record existed): the leader we saw.
      const before = recorded.found ? recorded.previous : this.#followed
      const alive = this.#hooks?.alive
      // The leader we followed gave way while its host is registered: a handover.
      const handover = before && before.id !== member.id && before.host && alive?.(before.host, before.incarnation) ? before : undefined
      // A failover from a root that kept its own store: what only that store holds is not here.
      if (!handover && before?.stores && before.host && before.host !== this.#hooks?.host)
        member.logger.warn(
          { previous: before.host },
          'elected after a root whose host is gone and kept its own store: documents whose latest copy is only in that store are not served here until that host leads this shard again (their opens are refused for now and retried; none is created anew). Restart that host with its store, or give every host a shared store (onLoad / onStore hooks)',
        )
      this.#followed = undefined
      this.#handedBy = handover?.host ? { id: handover.id, host: handover.host, ...(handover.incarnation ? { incarnation: handover.incarnation } : {}) } : undefined
      member.lead(epoch, handover)
      return
    }
    if (this.#leading) {
      this.#leading = false
      this.#hooks?.records?.endTerm()
      member.lapsed('etcd names another leader')
    }
    const value = parseLeaderValue(kv.value.toString())
    if (!value) return member.logger.error({ key }, 'the etcd leader key holds no Zinc endpoint; is the prefix shared with something else?')
    // A key of ours that is not (yet) our candidacy: the one being put right now (read before the
    // put returned), or one from an attempt that failed. Nobody to follow; and the leader we
    // followed before stays the one that handed over to us, when this key leads.
    if (value.id === member.id) return
    this.#followed = followedOf(value, epoch)
    const leader: Leader = { id: value.id, epoch, addresses: this.#followed.addresses }
    member.follow(leader)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#leading = false
    this.#hooks?.records?.close()
    this.#candidacy.stopRenewing()
    clearInterval(this.#pollTimer)
    await this.#watcher?.cancel().catch(() => {})
    await this.#candidacy.revoke(1000)
    if (!this.#hooks) this.#client?.close()
  }
}

/** A coordinator on etcd for `Endpoint.start({ coordinator: etcd({ endpoints }) })`. */
export function etcd(options: EtcdCoordinatorOptions): EtcdCoordinator {
  return new EtcdCoordinator(options)
}
