/**
 * @zinc/transport-inproc: an in-process Transport with ZeroMQ's semantics, for tests and
 * single-process deployments, with seeded fault injection.
 */
export { InprocNetwork, type InprocNetworkOptions } from './network.js'
export { InprocTransport, DEFAULT_HIGH_WATER_MARK, type InprocTransportOptions, type InprocTransportEvents } from './transport.js'
export type { FaultOptions } from './faults.js'
export type { InprocStats } from './stats.js'
export { mulberry32, type Random } from './prng.js'
