/**
 * How a pool of worker threads runs a module: the options `handle(kind, { worker })` and
 * `workerFunction(module)` share. Types only, so the endpoint and browser bundles can name them
 * without loading the pool.
 */
export interface WorkerThreadOptions {
  /** The module's export to run (default `default`). */
  export?: string
  /**
   * Threads at most (default: the machine's cores minus one for the endpoint's own loop, at
   * least 1). One is started at registration and kept; more start while tasks run at once and
   * stop after a minute idle.
   */
  threads?: number
  /** A task running longer is abandoned: its thread is terminated and replaced (default 30 s). */
  timeoutMs?: number
  /**
   * Times a task is run again on a fresh thread when its thread dies under it (default 1). Work
   * with side effects that must not happen twice sets 0.
   */
  retries?: number
  /** Each thread's JavaScript heap limit in MiB: a task that needs more kills its thread (a `crashed` failure), never the endpoint's process. */
  memoryLimitMb?: number
}
