import { connect as netConnect } from 'node:net'
import { AddressInUseError, UnsupportedAddressError } from '@zinc/core'

/** The address schemes this transport speaks, as ZeroMQ spells them. */
export const SUPPORTED_SCHEMES = ['tcp://', 'ipc://', 'inproc://'] as const

/** One of the schemes in {@link SUPPORTED_SCHEMES}, without `://`. */
export type ZmqScheme = 'tcp' | 'ipc' | 'inproc'

/**
 * Returns the scheme of `address`, or throws `UnsupportedAddressError` for any other one.
 * Everything after the scheme is left to ZeroMQ, which knows its own syntax best.
 */
export function schemeOf(address: string): ZmqScheme {
  const match = /^(tcp|ipc|inproc):\/\//.exec(address)
  if (match === null) throw new UnsupportedAddressError(address, 'zmq', [...SUPPORTED_SCHEMES])
  return match[1] as ZmqScheme
}

/**
 * Rejects with `AddressInUseError` if something already listens on the ipc path of `address`.
 *
 * ZeroMQ binding an ipc path that another process holds silently unlinks and takes it over,
 * stranding the first listener; the Transport contract wants the bind refused instead. A
 * successful connect proves a listener; a refused or missing path proves none. Abstract
 * (`@name`) and wildcard (`*`) paths are left to the kernel and ZeroMQ.
 */
export async function assertIpcPathFree(address: string): Promise<void> {
  const path = address.slice('ipc://'.length)
  if (path === '*' || path.startsWith('@')) return
  // Our own socket on this path may still be closing on libzmq's reaper thread: give it time.
  const deadline = Date.now() + RELEASE_WAIT_MS
  while (await ipcListening(path)) {
    if (!isReleasedHere(address) || Date.now() > deadline) throw new AddressInUseError(address)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * How long a bind waits for an address that this process's own closed socket still holds:
 * libzmq closes sockets on its reaper thread, a moment after `close()` returned.
 */
export const RELEASE_WAIT_MS = 2000

// tcp:// and ipc:// addresses bound by a socket of this process that closed since, with when.
const releasedHere = new Map<string, number>()

/** A bound socket of this process closed; a rebind of `address` may briefly find it busy. */
export function markReleased(address: string): void {
  const now = Date.now()
  // Forget old entries, so a process that opens many random ports does not grow this map.
  for (const [old, at] of releasedHere) if (now - at > RELEASE_WAIT_MS) releasedHere.delete(old)
  releasedHere.set(address, now)
}

/** `address` is bound again (or never was ours): EADDRINUSE means what it says. */
export function clearReleased(address: string): void {
  releasedHere.delete(address)
}

/** True if `address` was bound by this process's socket that has since closed. */
export function isReleasedHere(address: string): boolean {
  const at = releasedHere.get(address)
  return at !== undefined && Date.now() - at <= 2 * RELEASE_WAIT_MS
}

function ipcListening(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = netConnect({ path })
    const finish = (result: boolean) => {
      probe.destroy()
      resolve(result)
    }
    probe.once('connect', () => finish(true))
    probe.once('error', () => finish(false))
    // A listener that accepts nothing within a second is treated as absent rather than hang bind().
    probe.setTimeout(1000, () => finish(false))
  })
}
