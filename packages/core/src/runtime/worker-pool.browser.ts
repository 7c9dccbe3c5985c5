/**
 * What bundlers for the browser get instead of `worker-pool.ts` (the package's `browser` field
 * maps one to the other): worker threads and piscina exist only in Node.js, and the page must
 * not pull them into its bundle. Registering a worker handler in a browser fails at once,
 * naming the module, instead of breaking the bundle.
 */
import { HandlerLoadError } from '../errors.js'
import type { WorkerPoolOptions } from './worker-pool.js'

export class WorkerPool {
  static async open(options: WorkerPoolOptions): Promise<never> {
    throw new HandlerLoadError(String(options.module), 'worker threads exist only in Node.js; in a browser handle this kind inline, or start a Web Worker yourself')
  }
}
