import type { Transport } from '../transport.js'

/** What a transport package gives the conformance suite. */
export interface TransportSuiteSetup {
  /** A transport for one node. Called once per simulated node in a test; must be independent. */
  createTransport(): Transport | Promise<Transport>
  /** A fresh bindable address each call, e.g. 'inproc://suite-17', 'tcp://127.0.0.1:*', 'ipc:///tmp/zinc-x.sock' */
  address(): string
  /** Called after each test, after all channels were closed by the suite */
  teardown?(): Promise<void>
  /** Max time to wait on a condition (default 10_000 ms); real networks need subscription propagation time */
  waitMs?: number
}

/** Per-test timeout of every suite test: generous, because real networks are slow to settle. */
export const TEST_TIMEOUT = 60_000
