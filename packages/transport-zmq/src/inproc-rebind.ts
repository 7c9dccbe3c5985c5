import type { Context } from 'zeromq'

/**
 * Makes inproc:// behave like tcp:// and ipc:// when a bound channel closes and a new one
 * binds the same address: connected channels reach the new one.
 *
 * libzmq does not reconnect inproc connections: once the bound socket closes, a connected
 * PUSH has no pipe left (its sends wait forever) and a SUB hears nothing. And the address is
 * released by libzmq's reaper thread a moment after close(), so an immediate rebind can fail
 * with EADDRINUSE. This registry, one per context (inproc never crosses contexts), remembers
 * which of our channels connected to which inproc address, re-connects them when the address
 * is bound again, and tells a rebind that the address is only being released.
 *
 * How a channel re-connects is its own business: a PUSH socket can simply connect again, but
 * a SUB socket ignores a second connect to an address it once connected to (libzmq allows a
 * SUB one connection per endpoint), so a SUB channel swaps in a fresh socket.
 */
export class InprocRebind {
  static readonly #byContext = new WeakMap<Context, InprocRebind>()

  /** The registry of `context`. */
  static of(context: Context): InprocRebind {
    let registry = InprocRebind.#byContext.get(context)
    if (registry === undefined) {
      registry = new InprocRebind()
      InprocRebind.#byContext.set(context, registry)
    }
    return registry
  }

  // Connected channels per address: how each re-connects, and whether its binder has closed.
  readonly #connected = new Map<string, Set<{ reconnect: () => void; orphaned: boolean }>>()
  // Addresses whose bound socket we closed and that nobody has bound again yet.
  readonly #released = new Set<string>()

  /** Remembers a connected channel and how it re-connects; returns a function to forget it. */
  connected(address: string, reconnect: () => void): () => void {
    let entries = this.#connected.get(address)
    if (entries === undefined) {
      entries = new Set()
      this.#connected.set(address, entries)
    }
    const entry = { reconnect, orphaned: false }
    entries.add(entry)
    return () => {
      entries.delete(entry)
      if (entries.size === 0 && this.#connected.get(address) === entries) this.#connected.delete(address)
    }
  }

  /** A bound socket of `address` closed: its connected peers lost their pipes. */
  unbound(address: string): void {
    this.#released.add(address)
    for (const entry of this.#connected.get(address) ?? []) entry.orphaned = true
  }

  /** True if `address` was bound by a socket we closed, so EADDRINUSE is only the reaper's delay. */
  isBeingReleased(address: string): boolean {
    return this.#released.has(address)
  }

  /** `address` is bound again: re-connect every channel that lost its pipe. */
  bound(address: string): void {
    this.#released.delete(address)
    for (const entry of [...(this.#connected.get(address) ?? [])]) {
      if (!entry.orphaned) continue
      entry.orphaned = false
      try {
        entry.reconnect()
      } catch {
        // A channel whose transport is closing cannot re-connect; it is about to close anyway.
      }
    }
  }
}
