/**
 * @zinc/core/internal — building blocks the Zinc packages share (transports, the CLI), not
 * the application API: no stability promise beyond this repository's own packages. The public
 * API is `@zinc/core`.
 */
export { Fifo } from './fifo.js'
export { AsyncQueue } from './runtime/async-queue.js'
export { HandlerPool, type HandlerPoolOptions } from './runtime/handler-pool.js'
export { ChannelListener, type ListenerOptions } from './runtime/channel-listener.js'
export { bounded, throwIfAborted, type WaitOptions } from './runtime/abort.js'
export { resolveChannelOptions, checkCount, checkPositive, type ChannelLimits } from './channel-options.js'
