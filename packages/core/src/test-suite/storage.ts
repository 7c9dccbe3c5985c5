/**
 * The storage conformance suite: every `Storage` adapter runs it from its own tests,
 *
 * ```ts
 * import { storageConformanceSuite } from '@zinc/core/test-suite'
 * storageConformanceSuite('lmdb', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'zinc-'))
 *   return {
 *     storage: await LmdbStorage.open(dir),
 *     reopen: () => LmdbStorage.open(dir),
 *     teardown: () => rm(dir, { recursive: true, force: true }),
 *   }
 * })
 * ```
 *
 * It checks the contract of `storage.ts`: documents(), load, gapless append (a gap or a repeated
 * seq rejects and stores nothing of its batch), newest snapshot, readLog, compact only behind a
 * snapshot, byte-exact envelopes, durability across reopen, close, a 100,000-fragment log, and the tree record (`saveTree`/`loadTree`).
 * It never sleeps and asserts no timings.
 */
import { describe } from 'vitest'
import { storageBasicTests } from './storage-basic.js'
import { storageBytesTests } from './storage-bytes.js'
import { useStorageHarness } from './storage-harness.js'
import { storageLifecycleTests } from './storage-lifecycle.js'
import { storageLogTests } from './storage-log.js'
import { storageScaleTests } from './storage-scale.js'
import { storageTreeTests } from './storage-tree.js'
import type { StorageSuiteSetup } from './storage-setup.js'

export type { StorageSuiteSetup } from './storage-setup.js'

/** Registers the suite under `describe(name)`; `setup` runs before each test and must give an empty store. */
export function storageConformanceSuite(name: string, setup: () => Promise<StorageSuiteSetup>): void {
  describe(name, () => {
    const harness = useStorageHarness(setup)
    storageBasicTests(harness)
    storageLogTests(harness)
    storageBytesTests(harness)
    storageLifecycleTests(harness)
    storageScaleTests(harness)
    storageTreeTests(harness)
  })
}
