import { LeafStorageError } from '../errors.js'
import { LeafPersister } from '../document/leaf-persister.js'
import type { Replica } from '../document/replica.js'
import { isLeafSnapshot, type LeafStorage } from '../leaf-storage.js'
import type { NodeContext } from './context.js'

/**
 * Opens a leaf's document from its LeafStorage: restores what was kept (ready at once, even
 * offline) and keeps it from then on. Whatever the store holds, this never throws: a record
 * that cannot be read or used is dropped with an `error` event, and the document comes from
 * the parent as it would without a store.
 */
export async function openFromLeafStorage(node: NodeContext, replica: Replica, storage: LeafStorage): Promise<void> {
  const doc = replica.doc
  const warn = (detail: string, cause?: unknown) => {
    const error = new LeafStorageError(doc, detail, { cause })
    node.logger.warn({ doc, err: cause }, error.message)
    node.events.emit('error', error)
  }
  let record: unknown
  try {
    record = await storage.load(doc)
  } catch (error) {
    warn(`could not be read (${(error as Error).message}); it is fetched from the server instead`, error)
    record = undefined
  }
  if (record !== undefined && !isLeafSnapshot(record)) {
    warn('was unreadable (written by another program or damaged); it was discarded and is fetched from the server instead')
    storage.remove(doc).catch(() => {})
    record = undefined
  }
  let kept: { seq: number; generation: number } | undefined
  if (record !== undefined && isLeafSnapshot(record) && !replica.ready) {
    try {
      replica.restoreLocal(record)
      kept = { seq: record.state.seq, generation: replica.log.generation }
    } catch (error) {
      warn(`did not restore (${(error as Error).message}); it was discarded and is fetched from the server instead`, error)
      storage.remove(doc).catch(() => {})
    }
  }
  new LeafPersister(replica, storage, node.logger, (error) => warn(`could not be saved (${error.message})`, error), kept)
}
