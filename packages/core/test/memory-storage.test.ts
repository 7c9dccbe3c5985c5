import { MemoryStorage } from '@zinc/core'
import { storageConformanceSuite } from '@zinc/core/test-suite'

// Nothing of a MemoryStorage survives close(), so it has no reopen: the suite skips durability.
storageConformanceSuite('MemoryStorage', async () => ({ storage: new MemoryStorage() }))
