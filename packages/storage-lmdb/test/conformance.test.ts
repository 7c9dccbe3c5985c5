import { rm } from 'node:fs/promises'
import { storageConformanceSuite } from '@zinc/core/test-suite'
import { LmdbStorage } from '@zinc/storage-lmdb'
import { tempDir } from './helpers.js'

for (const durability of ['fsync', 'group'] as const) {
  storageConformanceSuite(`LmdbStorage (${durability})`, async () => {
    const dir = await tempDir()
    return {
      storage: await LmdbStorage.open(dir, { durability }),
      reopen: () => LmdbStorage.open(dir, { durability }),
      teardown: () => rm(dir, { recursive: true, force: true }),
    }
  })
}
