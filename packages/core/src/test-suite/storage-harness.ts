import { afterEach, beforeEach } from 'vitest'
import type { Storage } from '../storage.js'
import type { StorageSuiteSetup } from './storage-setup.js'

/** Per-test access to the store under test; closes everything it handed out after each test. */
export interface StorageHarness {
  /** The store of this test (the newest one, after a `reopen`). */
  readonly storage: Storage
  readonly canReopen: boolean
  /** Closes the current store and opens the same data again; the result becomes `storage`. */
  reopen(): Promise<Storage>
}

export function useStorageHarness(setup: () => Promise<StorageSuiteSetup>): StorageHarness {
  let current: StorageSuiteSetup | undefined
  let storage: Storage | undefined
  const opened: Storage[] = []

  beforeEach(async () => {
    current = await setup()
    storage = current.storage
    opened.push(storage)
  })

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => {})
    const teardown = current?.teardown
    current = undefined
    storage = undefined
    if (teardown) await teardown()
  })

  return {
    get storage(): Storage {
      if (!storage) throw new Error('storage suite: no store outside a test')
      return storage
    },
    get canReopen(): boolean {
      return current?.reopen !== undefined
    },
    async reopen(): Promise<Storage> {
      if (!current?.reopen || !storage) throw new Error('storage suite: this adapter has no reopen')
      await storage.close()
      storage = await current.reopen()
      opened.push(storage)
      return storage
    },
  }
}
