import type { Replica } from './replica.js'

/**
 * Makes the stored document reach `seq` (the seq a batch about to be appended follows): when the replica moved
 * past what was stored by other means than this sequencer's batches (fragments recovery
 * fetched from survivors, an adopted copy), the state at `seq` is stored as a snapshot first.
 * Appending without it left a gap in the stored log, and every batch after was refused
 * ("the log must stay gapless"), found by the chaos suite.
 */
export function storeAfter(r: Replica, seq: number): Promise<void> {
  const storage = r.io.storage!
  if (r.storedUpTo === seq || seq !== r.seq) return Promise.resolve()
  // Stored further than the replica: another history (this root took a shorter branch, or a
  // survivor's snapshot). A snapshot at `seq` would be older than the stored head and every
  // append after it refused: the stored history is replaced instead.
  if ((r.storedUpTo ?? 0) > seq) {
    if (!storage.replace) {
      r.io.logger.error(
        { doc: r.doc, seq, stored: r.storedUpTo },
        'the stored document is ahead of this root on another history, and this storage cannot replace it (Storage.replace): its appends will be refused; give the storage a replace method, or delete the document from it',
      )
      return Promise.resolve()
    }
    r.io.logger.warn({ doc: r.doc, seq, stored: r.storedUpTo }, "the stored document holds another history further than this root's; replacing it")
    return storage.replace(r.doc, r.storedSnapshot()).then(() => {
      r.snapshotSeq = seq
      r.storedUpTo = seq
    })
  }
  r.io.logger.info({ doc: r.doc, seq, stored: r.storedUpTo }, 'the stored document is behind this root; storing a snapshot before the next batch')
  return storage.writeSnapshot(r.doc, r.storedSnapshot()).then(() => {
    r.snapshotSeq = Math.max(r.snapshotSeq, seq)
    r.storedUpTo = Math.max(seq, r.storedUpTo ?? 0)
  })
}
