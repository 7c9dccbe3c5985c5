import { ClosedError, ZincError, type Logger } from '@zinc/core'
import type { Etcd3 } from 'etcd3'
import { StoredElsewhereError } from './errors.js'

/**
 * `call` bounded by `ms`: the request deadline is etcd's, and this one ours, so that an open or a
 * write never waits on a call the client left hanging (a reconnect, a stream being set up).
 */
function bounded<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer from etcd within ${ms} ms`)), ms)))
  return Promise.race([call, late]).finally(() => clearTimeout(timer))
}

/** A leadership term of one shard: our leader key and its create revision (the epoch). */
interface Term {
  key: string
  epoch: number
  /** The shard's records read in one range request at the start of the term (see #load). */
  loaded?: Promise<boolean>
}

/**
 * Which host's store holds the latest copy of each document of one shard, kept in etcd
 * (`<prefix>shards/<k>/docs/<doc>` = host id, no lease: it outlives every host).
 *
 * With a store per host, a document open nowhere lives only in the store of the last host that
 * led its shard while it changed. Without this record, the next owner of the shard did not know
 * it existed: an open of it was answered as a new document seeded from the opener's `initial`,
 * changes were confirmed on that copy, and one of the two histories was lost when the storing
 * host returned. Now a root checks the record before it loads a document it does not hold in
 * memory (`Coordinator.checkDocument`): no record, or one naming this host, and it loads or
 * creates it as before; a record naming another host, and the open is refused for now
 * (`ERR_UNAVAILABLE`, retried by the opener) with a `StoredElsewhereError` saying which host
 * to bring back. That host serves it again once it leads the shard (by handover, as any).
 *
 * A host with a store names itself before the first write of a document in each of its terms
 * (the storage wrapper awaits `claim`, and a root acknowledges a change only once it is
 * stored), so the record never names a host whose copy misses a confirmed change. etcd writes:
 * one per document created, and one per document when its shard moves to another host with a
 * store and that host first stores it; never one per change. Every write holds only while our
 * leader key still leads (a transaction on its create revision): a deposed root cannot write.
 * Reads: one range read of the shard's records per term, then none.
 */
export class DocumentRecords {
  #term: Term | undefined
  /** The holder of each document as read or written this term (null: no record, a new document). */
  readonly #holders = new Map<string, string | null>()
  readonly #claiming = new Map<string, Promise<void>>()
  readonly #warnedAt = new Map<string, number>()
  /** Claims waiting for this member to lead again. */
  #nextTerm: Array<() => void> = []
  #closed = false

  constructor(
    readonly client: Etcd3,
    /** The shard's etcd prefix, `<prefix>shards/<k>/`. */
    readonly prefix: string,
    /** The shard, as named in errors (`shard 3`). */
    readonly shard: string,
    /** This host's id. */
    readonly host: string,
    /** Whether a host is registered (running) now. */
    readonly running: (host: string) => boolean,
    readonly logger: Logger,
    /** Deadline of each etcd request. */
    readonly timeoutMs: number,
    /** A running host that does not lead the shard holds a wanted document's latest copy. */
    readonly wanted: (holder: string) => void = () => {},
  ) {}

  get #dir(): string {
    return `${this.prefix}docs/`
  }

  /** This member leads the shard under `key` at `epoch`: a new term (what was cached is stale). */
  newTerm(key: string, epoch: number): void {
    this.#term = { key, epoch }
    this.#holders.clear()
    void this.#load(this.#term)
    const waiting = this.#nextTerm
    this.#nextTerm = []
    for (const resume of waiting) resume()
  }

  /** This member no longer leads: nothing is checked or claimed until it leads again. */
  endTerm(): void {
    this.#term = undefined
    this.#holders.clear()
  }

  /** The endpoint closes: claims waiting for a next term never get one. */
  close(): void {
    this.endTerm()
    this.#closed = true
    const waiting = this.#nextTerm
    this.#nextTerm = []
    for (const resume of waiting) resume()
  }

  /** Reads every record of the shard at once (one range read per term); false when etcd did not answer. */
  #load(term: Term): Promise<boolean> {
    term.loaded ??= (async () => {
      try {
        const kvs = (
          await bounded(
            this.client
              .getAll()
              .prefix(this.#dir)
              .options({ deadline: Date.now() + this.timeoutMs })
              .exec(),
            this.timeoutMs + 500,
            'reading the document records',
          )
        ).kvs
        if (this.#term !== term) return false
        for (const kv of kvs) {
          const doc = kv.key.toString().slice(this.#dir.length)
          if (!this.#holders.has(doc)) this.#holders.set(doc, kv.value.toString())
        }
        return true
      } catch {
        // Tried again by the next check.
        term.loaded = undefined
        return false
      }
    })()
    return term.loaded
  }

  /**
   * Resolves when this root may load `doc` from its own store or create it anew; rejects with
   * `StoredElsewhereError` when the record names another host (its store has the latest copy).
   * `opening`: an opener waits for it (then the wait is logged, and a running holder is lent
   * the shard, see shard-lends.ts); false when recovery or a handover only asks.
   */
  async check(doc: string, opening = true): Promise<void> {
    const term = this.#term
    if (!term) throw new ZincError('ERR_UNAVAILABLE', `this endpoint no longer leads ${this.shard}; the open goes to the new root`)
    const complete = await this.#load(term)
    let holder = this.#holders.get(doc)
    if (holder === undefined && !complete) {
      try {
        holder = await bounded(
          this.client
            .get(`${this.#dir}${doc}`)
            .options({ deadline: Date.now() + this.timeoutMs })
            .string(),
          this.timeoutMs + 500,
          'reading the document record',
        )
      } catch (error) {
        throw new ZincError(
          'ERR_UNAVAILABLE',
          `etcd could not be reached to check whether document "${doc}" is stored on another host (${(error as Error).message.split('\n')[0]}); the open is retried`,
        )
      }
      if (this.#term === term && !this.#holders.has(doc)) this.#holders.set(doc, holder)
    }
    if (holder === undefined || holder === null || holder === this.host) return
    const running = this.running(holder)
    const now = Date.now()
    if (opening && now - (this.#warnedAt.get(doc) ?? 0) > 10_000) {
      this.#warnedAt.set(doc, now)
      this.logger.warn(
        { doc, holder, running },
        `an open waits: the latest copy of this document is in the store of host ${holder}, which ${running ? 'does not lead this shard now' : 'is not running'}; it is neither created anew nor served from an older copy here. Restart host ${holder} with its store, or give every host a shared store (onLoad / onStore hooks)`,
      )
    }
    if (running && opening) this.wanted(holder)
    throw new StoredElsewhereError(doc, this.shard, holder, running)
  }

  /**
   * Names this host as the holder of `doc`, before its store first holds a version of it this
   * term (awaited by the storage wrapper, and a root acknowledges a change only once it is
   * stored). Retried while etcd does not answer. Outside a term (this member stepped down, or
   * etcd names another leader) it waits for the next one: a write of a root that stepped down is
   * not its to make, and its sequencer is dropped once it joins the new root (a rejection would
   * refuse the batch's changes instead of letting them go to the new root).
   */
  claim(doc: string): Promise<void> {
    if (this.holds(doc)) return Promise.resolve()
    let claiming = this.#claiming.get(doc)
    if (!claiming) {
      claiming = this.#claim(doc).finally(() => this.#claiming.delete(doc))
      this.#claiming.set(doc, claiming)
    }
    return claiming
  }

  /** Whether this term's record of `doc` names this host (nothing to write before storing it). */
  holds(doc: string): boolean {
    return this.#term !== undefined && this.#holders.get(doc) === this.host
  }

  async #claim(doc: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const term = this.#term
      if (this.#closed) throw new ClosedError(`the endpoint of ${this.shard}`)
      if (!term) {
        this.logger.info({ doc }, 'this endpoint does not lead its shard now: storing the document waits until it leads again')
        await new Promise<void>((resolve) => this.#nextTerm.push(resolve))
        continue
      }
      // Already ours from an earlier term (read at the start of this one): nothing to write.
      if ((await this.#load(term)) && this.#term === term && this.#holders.get(doc) === this.host) return
      try {
        const txn = await bounded(
          this.client
            .if(term.key, 'Create', '==', term.epoch)
            .then(this.client.put(`${this.#dir}${doc}`).value(this.host))
            .options({ deadline: Date.now() + this.timeoutMs })
            .commit(),
          this.timeoutMs + 500,
          'recording the document holder',
        )
        if (txn.succeeded) {
          if (this.#term === term) this.#holders.set(doc, this.host)
          return
        }
        // Our key no longer leads: the coordinator ends the term as soon as it reads so.
        if (attempt % 10 === 0)
          this.logger.warn(
            { doc, key: term.key, epoch: term.epoch },
            'recording in etcd that this host stores the document was refused: our leader key no longer leads; waiting for the coordinator to see it',
          )
        await new Promise((r) => setTimeout(r, 200))
      } catch (error) {
        if (attempt % 10 === 0) this.logger.warn({ doc, reason: (error as Error).message.split('\n')[0] }, 'recording in etcd that this host stores the document failed; retrying (its changes wait)')
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (attempt + 1))))
      }
    }
  }
}
