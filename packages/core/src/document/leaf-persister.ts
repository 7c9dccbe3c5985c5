import type { LeafStorage } from '../leaf-storage.js'
import type { Logger } from '../logger.js'
import type { Replica } from './replica.js'

/** How often a replica is checked for changes that raised no event (acknowledgements). */
const CHECK_MS = 500
/** Fragments kept in the small record before the state is written again. */
const MAX_SEQUENCED = 256

/**
 * Keeps one replica in a leaf's storage. Writes are coalesced: one in flight at a time, and
 * whatever changed meanwhile goes in the next one, so a burst of changes costs a few writes.
 * Each write is a consistent picture of the replica; once it is durable, the changes it holds
 * may go upstream (Replica.saved), each as the copy it holds (OwnChanges.arm): what went up is
 * always in the last durable write, so a restart resends exactly that.
 *
 * A write is small: the pending changes and the fragments sequenced since the kept state. The
 * state (a whole large document) is written with it only every MAX_SEQUENCED fragments, after
 * a snapshot replaced the history, or when nothing was kept yet — so a change on a large
 * document is not held back by copying the whole document each time.
 *
 * A write that fails stops the persistence of this document and removes its record, so a
 * restart never resumes from a stale one (a stale record would reuse clientSeqs the root has
 * already seen). Changes then go upstream unsaved, as without leaf storage.
 */
export class LeafPersister {
  #writing = false
  #dirty = false
  #stopped = false
  #lastKey = ''
  /** The state last written (its seq, and the replica log's generation then); undefined: none yet. */
  #kept: { seq: number; generation: number } | undefined
  readonly #offs: Array<() => void> = []
  readonly #timer: ReturnType<typeof setInterval>

  constructor(
    readonly replica: Replica,
    readonly storage: LeafStorage,
    readonly logger: Logger,
    /** Told when this document can no longer be kept (the app may warn that offline work is not safe). */
    readonly onFailure: (error: Error) => void,
    /** Restored from storage: the kept state's seq, and the log's generation after the restore. */
    kept?: { seq: number; generation: number },
  ) {
    this.#kept = kept
    replica.persister = this
    // From now on a change waits for the save that holds it before it goes upstream.
    replica.savedUpTo = Math.min(replica.savedUpTo, replica.nextClientSeq - 1)
    this.#offs.push(replica.events.on('change', () => this.schedule()))
    this.#offs.push(replica.events.on('rejected', () => this.schedule()))
    this.#timer = setInterval(() => {
      if (this.#key() !== this.#lastKey) this.schedule()
    }, CHECK_MS)
    this.#lastKey = this.#key()
  }

  /** Something changed: save (now, or after the write in flight). */
  schedule(): void {
    // Nothing to keep before the document has arrived (or been restored).
    if (this.#stopped || !this.replica.ready) return
    if (this.#writing) {
      this.#dirty = true
      return
    }
    void this.#write()
  }

  /**
   * Stops keeping the replica. `flush`: first writes it once more as it is now (the document
   * or the endpoint is closing: a change made just before must not be lost to the reload).
   */
  stop(flush = false): void {
    if (this.#stopped) return
    if (flush && this.replica.ready) {
      // The record continues the state written last only once that write is done: a final write
      // racing one in flight carries the state too.
      const { record, state } = this.replica.leafSnapshot(this.#writing ? undefined : this.#kept, MAX_SEQUENCED)
      this.storage.save(this.replica.doc, record, state).catch(() => {})
    }
    this.#stopped = true
    clearInterval(this.#timer)
    for (const off of this.#offs) off()
  }

  /** Changes unless the replica moved: its seq, its counter or its pending set. */
  #key(): string {
    const r = this.replica
    return `${r.seq}/${r.nextClientSeq}/${r.pending.length}/${r.pending[0]?.fragment.clientSeq ?? 0}`
  }

  async #write(): Promise<void> {
    this.#writing = true
    try {
      do {
        this.#dirty = false
        const r = this.replica
        this.#lastKey = this.#key()
        const generation = r.log.generation
        const { record, state, armed } = r.leafSnapshot(this.#kept, MAX_SEQUENCED)
        try {
          await this.storage.save(r.doc, record, state)
        } catch (error) {
          this.#fail(error as Error)
          return
        }
        if (state) this.#kept = { seq: state.seq, generation }
        if (this.#stopped) return
        // The copies this save fixed may go now (those taken back meanwhile are no one's).
        for (const a of armed) a.durable = true
        r.saved(record.nextClientSeq - 1)
      } while (this.#dirty && !this.#stopped)
    } finally {
      this.#writing = false
    }
  }

  #fail(error: Error): void {
    if (this.#stopped) return
    this.logger.warn({ doc: this.replica.doc, err: error }, 'keeping the document offline failed; its changes are sent unsaved from now on')
    this.stop()
    this.replica.persister = undefined
    this.storage.remove(this.replica.doc).catch(() => {})
    this.replica.saved(Infinity)
    this.onFailure(error)
  }
}
