import { isAbsolute, resolve } from 'node:path'
import type { Storage } from '@zinc/core'
import { CliError } from './errors.js'

/**
 * `--data DIR`: the root's durable storage (`EndpointOptions.storage`).
 *
 * - the adapter is loaded lazily (`import('@zinc/storage-lmdb')`), so a host without `--data`
 *   never loads LMDB's native addon, and a build of the adapter that lacks `LmdbStorage`
 *   gives a clear error instead of a crash;
 * - {@link storageOptions} is what `zinc host` spreads into `Endpoint.start` options.
 */

interface LmdbModule {
  LmdbStorage?: { open(dir: string, options?: object): Promise<Storage> }
}

/** Opens the LMDB store in `dir` (created if missing). Throws a `CliError` saying what to do. */
export async function openStorage(dir: string): Promise<{ storage: Storage; path: string }> {
  const path = isAbsolute(dir) ? dir : resolve(process.cwd(), dir)
  let mod: LmdbModule
  try {
    mod = (await import('@zinc/storage-lmdb')) as LmdbModule
  } catch (error) {
    throw new CliError(
      `--data needs the @zinc/storage-lmdb package, which could not be loaded (${(error as Error).message}). ` +
        'Run `npm ci` at the repository root (it builds every package), or leave out --data to keep documents in memory.',
    )
  }
  if (typeof mod.LmdbStorage?.open !== 'function') {
    throw new CliError('--data: this build of @zinc/storage-lmdb does not export LmdbStorage.open yet; rebuild with `npx tsc -b`, or leave out --data.')
  }
  try {
    return { storage: await mod.LmdbStorage.open(path), path }
  } catch (error) {
    const code = (error as { code?: string }).code
    throw new CliError(`--data ${dir}: cannot open the store at ${path}${code ? ` (${code})` : ''}: ${(error as Error).message}`)
  }
}

/** The options fragment that hands the store to `Endpoint.start`. */
export function storageOptions(storage: Storage | undefined): { storage?: Storage } {
  return storage ? { storage } : {}
}
