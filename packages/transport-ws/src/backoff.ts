/** What a reconnect wait is computed from. */
export interface BackoffOptions {
  reconnectIntervalMs: number
  reconnectMaxMs: number
  reconnectJitter: number
}

/**
 * The wait before reconnect attempt `attempt` (0-based): the interval doubled per attempt up to
 * the bound, of which the `reconnectJitter` share is random, so many clients of one restarted
 * server spread their reconnects out instead of arriving together.
 */
export function reconnectDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.reconnectMaxMs, options.reconnectIntervalMs * 2 ** Math.min(attempt, 30))
  return base * (1 - options.reconnectJitter * random())
}
