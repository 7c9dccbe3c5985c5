import type { CoordinatedMember, Coordinator, EndpointId, Leader } from '@zinc/core'
import type { Etcd3, Lease, Watcher } from 'etcd3'
import { connectEtcd } from './connect.js'
import { followedOf, parseLeaderValue, takeOverLastLeader, type Followed, type LeaderValue } from './leader-record.js'
import { LeaseWindow } from './lease-window.js'

/** Options of {@link etcd}. */
export interface EtcdCoordinatorOptions {
  /** etcd client endpoints, e.g. `['127.0.0.1:2379']` or `['http://10.0.0.1:2379', …]`. */
  endpoints: string[]
  /** Key prefix of this Zinc deployment; one election per prefix. Default `zinc/`. */
  prefix?: string
  /**
   * Lease TTL: how long a root that stopped renewing (dead, paused, cut off from etcd) keeps
   * the role before a successor is elected. etcd counts whole seconds (at least its minimum,
   * 2 s for a default etcd); rounded up. Default 5000.
   */
  leaseTtlMs?: number
  /**
   * How much earlier than its lease's certain end a root stops acknowledging, for clock drift
   * between this process and etcd and the time from a check to the message leaving. Default: a
   * fifth of the TTL, at least 250 ms.
   */
  marginMs?: number
  /** Gives up connecting at start after this long. Default 3000. */
  dialTimeoutMs?: number
}

/**
 * How one shard's election differs from a whole tree's (set by ShardedHost and Forest, not by
 * users): candidates stand only while the shard is theirs, and share their host's client.
 */
export interface ElectionHooks {
  /** One etcd client shared by every election of a process; this coordinator does not close it. */
  client: Etcd3
  /** Whether to stand now (a host stands for the shards assigned to it; a forest never). */
  stand: () => boolean
  /** The host this endpoint belongs to, written into the leader key. */
  host?: string
  /** Which run of the host this is (a restart under the same id is another), written with it. */
  incarnation?: string
  /** Whether this member keeps a store of its own (its `storage`), written with it. */
  stores?: boolean
  /**
   * Whether that run of a host is still registered: a leader that gave way while alive handed
   * over. A previous run of a host (restarted under its id) is not alive: it hands nothing over.
   */
  alive?: (host: string, incarnation?: string) => boolean
  /** Which documents belong to this election (its shard): loaded from storage before a handover. */
  owns?: (doc: string) => boolean
  /**
   * Which host's store holds each document's latest copy (per-host stores, see doc-records.ts):
   * told when this member's terms start and end, and asked before the root loads a document
   * (checkDocument).
   */
  records?: {
    /** This member leads under leader key `key` at `epoch`: records are written only while that key leads. */
    newTerm(key: string, epoch: number): void
    /** This member no longer leads. */
    endTerm(): void
    /** This member closes. */
    close(): void
    /** Resolves when this root may load `doc` from its own store or create it; rejects saying where its latest copy is otherwise. */
    check(doc: string, opening?: boolean): Promise<void>
  }
}

/**
 * Root election on etcd, the usual etcd recipe (what etcd's own `concurrency.Election` and the
 * etcd3 client's `Election` do): every member puts a key under `<prefix>leader/` bound to its
 * own lease; the key with the lowest create revision leads. The epoch is that key's create
 * revision: etcd issues it, it rises with every new leader key, and no two leaders share one.
 *
 * Why not etcd3's `Election` class itself: it keeps its lease private and renews it on its own
 * schedule, and its observer reports only the leader's value. A root must know when each
 * renewal was *sent* (to know how long its lease is certainly valid) and every member needs
 * the leader key's revision (the fencing epoch), so the ~30 lines of the recipe live here on
 * the same client. Why etcd3: it is the maintained Node client (gRPC, leases, watches, typed).
 */
export class EtcdCoordinator implements Coordinator {
  readonly name: string
  readonly #prefix: string
  readonly #ttlSeconds: number
  readonly #dialTimeoutMs: number
  readonly #window: LeaseWindow
  #client: Etcd3 | undefined
  #member: CoordinatedMember | undefined
  #lease: Lease | undefined
  #myKey = ''
  #watcher: Watcher | undefined
  #renewTimer: ReturnType<typeof setTimeout> | undefined
  #pollTimer: ReturnType<typeof setInterval> | undefined
  #closed = false
  #campaigning: Promise<void> | undefined
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
    return this.#grantedTtl * 1000
  }

  #grantedTtl = 0

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
    if (this.#standing) await this.#campaign()
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
      if (!this.#lease && !this.#campaigning) {
        await this.#campaign()
        await this.#refresh()
      }
      return
    }
    if (!this.#lease && !this.#campaigning) return
    await this.#campaigning
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
    await this.#withdraw()
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

  /** Revokes this candidacy (its key goes with its lease). */
  async #withdraw(): Promise<void> {
    const old = this.#lease
    this.#lease = undefined
    this.#myKey = ''
    clearTimeout(this.#renewTimer)
    await old?.revoke({ deadline: Date.now() + this.#dialTimeoutMs }).catch(() => {})
  }

  get #leaderPrefix(): string {
    return `${this.#prefix}leader/`
  }

  /** A fresh lease and a fresh key bound to it: a new candidacy (and, if it wins, a new epoch). */
  #campaign(): Promise<void> {
    this.#campaigning ??= (async () => {
      const client = this.#client!
      const member = this.#member!
      for (let attempt = 0; !this.#closed; attempt++) {
        let lease: Lease | undefined
        try {
          // Taken before the grant request leaves (the Lease sends it as it is made).
          const sentAt = performance.now()
          lease = client.lease(this.#ttlSeconds, { autoKeepAlive: false })
          lease.on('lost', () => {})
          const id = await lease.grant()
          const ttl = await lease.keepaliveOnce({ deadline: Date.now() + this.#dialTimeoutMs })
          this.#grantedTtl = Number(ttl.TTL)
          this.#window.renewed(sentAt, this.#grantedTtl)
          const value = this.#leaderValue(member)
          const key = `${this.#leaderPrefix}${member.id}/${id}`
          await lease
            .put(key)
            .value(JSON.stringify(value))
            .options({ deadline: Date.now() + this.#dialTimeoutMs })
            .exec()
          this.#lease = lease
          this.#myKey = key
          this.#scheduleRenewal()
          return
        } catch (error) {
          // The put may have reached etcd all the same: that key must not stand for us.
          void lease?.revoke({ deadline: Date.now() + this.#dialTimeoutMs }).catch(() => {})
          if (attempt % 10 === 0) member.logger.warn({ err: error, coordinator: this.name }, 'entering the etcd election failed; retrying')
          await delay(Math.min(1000, 100 * (attempt + 1)))
        }
      }
    })().finally(() => (this.#campaigning = undefined))
    return this.#campaigning
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

  /** Renews a third of a TTL after the last renewal, each request with a deadline. */
  #scheduleRenewal(): void {
    clearTimeout(this.#renewTimer)
    if (this.#closed) return
    this.#renewTimer = setTimeout(() => void this.#renew(), Math.max(100, (this.#grantedTtl * 1000) / 3))
  }

  async #renew(): Promise<void> {
    const lease = this.#lease
    if (!lease || this.#closed) return
    const sentAt = performance.now()
    try {
      const res = await lease.keepaliveOnce({ deadline: Date.now() + Math.max(200, this.#window.remainingMs) })
      if (lease !== this.#lease) return
      const ttl = Number(res.TTL)
      if (!(ttl > 0)) return void this.#leaseGone('etcd says the lease expired')
      this.#window.renewed(sentAt, ttl)
    } catch (error) {
      if (lease !== this.#lease) return
      const message = (error as Error).message
      if (/not found|expired|revoked/i.test(message)) return void this.#leaseGone(`etcd says the lease is gone (${message})`)
      this.#member?.logger.warn({ coordinator: this.name, reason: message.split('\n')[0] }, 'renewing the etcd lease failed')
      // Past the window the root already acknowledges nothing (mayConfirm); a renewal that
      // gets through resumes it, as nobody else can have led while our key stood. Once a whole
      // TTL has passed since the last renewal left, etcd has probably expired the lease: step
      // down and stand again.
      if (this.#window.remainingMs < -this.#window.marginMs(this.#grantedTtl * 1000)) this.#lapse('the etcd lease could not be renewed within its TTL')
    }
    this.#scheduleRenewal()
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
    await this.#withdraw()
    if (this.#closed) return
    if (this.#standing) await this.#campaign()
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
      if (!this.#lease && !this.#campaigning && this.#standing) void this.#campaign().then(() => this.#refresh())
      return
    }
    const key = kv.key.toString()
    const epoch = Number(kv.create_revision)
    if (epoch > this.#issued) this.#issued = epoch
    if (key === this.#leaderKey && epoch === this.#leaderEpoch && (key !== this.#myKey || this.#leading)) return
    this.#leaderKey = key
    this.#leaderEpoch = epoch
    if (key === this.#myKey) {
      // Elected; take the role only while the lease is certainly ours.
      if (!this.#window.certain) return
      // Who led before us, as etcd recorded it (not only as we saw it: a member cut off from
      // etcd, or elected right as the key it would have followed went, never saw that leader).
      // Until the record is read and ours written, we do not lead; the poll tries again.
      const recorded = await takeOverLastLeader(client, this.#prefix, this.#myKey, epoch, this.#leaderValue(member), member, this.#dialTimeoutMs)
      if (recorded === false || this.#leading || key !== this.#myKey || !this.#window.certain || this.#closed) return
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
    clearTimeout(this.#renewTimer)
    clearInterval(this.#pollTimer)
    await this.#watcher?.cancel().catch(() => {})
    await this.#lease?.revoke({ deadline: Date.now() + 1000 }).catch(() => {})
    if (!this.#hooks) this.#client?.close()
  }
}

/** A coordinator on etcd for `Endpoint.start({ coordinator: etcd({ endpoints }) })`. */
export function etcd(options: EtcdCoordinatorOptions): EtcdCoordinator {
  return new EtcdCoordinator(options)
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
