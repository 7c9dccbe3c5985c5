import type { Coordinator } from '@zinc/core'
import { CliError } from './errors.js'

/**
 * `--coordinator URL`: who decides the root. `peers` (the default) is the embedded succession;
 * `etcd://HOST:PORT[,HOST:PORT…][/PREFIX]` elects the root on etcd (@zinc/coordinator-etcd, loaded
 * lazily so a host without it never loads the gRPC client).
 */
export interface CoordinatorFlag {
  endpoints: string[]
  prefix?: string
}

export function parseCoordinator(input: string): CoordinatorFlag | 'peers' {
  if (input === 'peers') return 'peers'
  const m = /^etcd:\/\/([^/]+)(?:\/(.*))?$/.exec(input)
  const endpoints = m?.[1]?.split(',').filter((e) => e.length > 0) ?? []
  if (!m || endpoints.length === 0 || !endpoints.every((e) => /^[^:\s]+:\d+$/.test(e)))
    throw new CliError(`Bad --coordinator ${JSON.stringify(input)}: use peers (the default), or etcd://HOST:PORT[,HOST:PORT…][/PREFIX], e.g. etcd://127.0.0.1:2379.`)
  return m[2] ? { endpoints, prefix: m[2].endsWith('/') ? m[2] : `${m[2]}/` } : { endpoints }
}

interface EtcdModule {
  etcd?: (options: { endpoints: string[]; prefix?: string; leaseTtlMs?: number }) => Coordinator
}

/** The coordinator for `Endpoint.start`; throws a `CliError` saying what to do when it cannot be loaded. */
export async function openCoordinator(flag: CoordinatorFlag, leaseTtlMs: number | undefined): Promise<Coordinator> {
  let mod: EtcdModule
  try {
    mod = (await import('@zinc/coordinator-etcd')) as EtcdModule
  } catch (error) {
    throw new CliError(
      `--coordinator etcd needs the @zinc/coordinator-etcd package, which could not be loaded (${(error as Error).message}). ` +
        'Run `npm ci` at the repository root, or leave out --coordinator for the embedded succession.',
    )
  }
  if (typeof mod.etcd !== 'function') throw new CliError('--coordinator: this build of @zinc/coordinator-etcd does not export etcd(); rebuild with `npx tsc -b`.')
  return mod.etcd({ ...flag, ...(leaseTtlMs !== undefined ? { leaseTtlMs } : {}) })
}
