/**
 * The transport conformance suite: every Transport implementation runs it from its own tests,
 *
 * ```ts
 * import { transportConformanceSuite } from '@zinc/core/test-suite'
 * transportConformanceSuite('inproc', () => ({ createTransport: () => …, address: () => … }))
 * ```
 *
 * It checks only what ZeroMQ itself guarantees (see `transport.ts`), waits on conditions
 * instead of sleeping, and closes every channel and transport it opened after each test.
 */
import { describe } from 'vitest'
import { backpressureTests } from './backpressure.js'
import { basicTests } from './basic.js'
import { cancelTests } from './cancel.js'
import { closeTests } from './close.js'
import { useHarness } from './harness.js'
import { identityTests } from './identity.js'
import type { TransportSuiteSetup } from './setup.js'
import { stressTests } from './stress.js'
import { topicTests } from './topics.js'

export type { TransportSuiteSetup } from './setup.js'
export { storageConformanceSuite, type StorageSuiteSetup } from './storage.js'

/**
 * Registers the suite under `describe(name)`. `setup` runs before each test (so each test gets
 * fresh transports and addresses); `teardown` runs after it, once the suite closed its channels.
 */
export function transportConformanceSuite(name: string, setup: () => TransportSuiteSetup | Promise<TransportSuiteSetup>): void {
  describe(name, () => {
    const harness = useHarness(setup)
    basicTests(harness)
    topicTests(harness)
    closeTests(harness)
    cancelTests(harness)
    backpressureTests(harness)
    stressTests(harness)
    identityTests(harness)
  })
}
export { FakeClock } from './fake-clock.js'
