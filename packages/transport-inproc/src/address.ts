import { UnsupportedAddressError } from '@zinc/core'

const SCHEME = 'inproc://'

/**
 * Checks that `address` is an `inproc://name` address and returns it unchanged: inproc names
 * need no resolution, so the bound address is the one asked for.
 */
export function checkInprocAddress(address: string): string {
  if (!address.startsWith(SCHEME) || address.length === SCHEME.length) {
    throw new UnsupportedAddressError(address, 'inproc', ['inproc://<name>'])
  }
  return address
}
