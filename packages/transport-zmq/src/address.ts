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
  const inUse = await new Promise<boolean>((resolve) => {
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
  if (inUse) throw new AddressInUseError(address)
}
