import { ZincError } from '@zinc/core'
import type { Etcd3 } from 'etcd3'

/** The shard count under `prefix` differs from the one asked for. */
export class ShardCountMismatchError extends ZincError {
  constructor(
    readonly prefix: string,
    readonly stored: number,
    readonly asked: number,
  ) {
    super(
      'ERR_SHARD_COUNT',
      `The deployment under etcd prefix "${prefix}" has ${stored} shards, not ${asked}: every host must use the same count. ` +
        `Start this host with ${stored} shards, or use another prefix for a new deployment (changing the count of a running one is not supported).`,
    )
  }
}

/** Validates a shard count given by a user. */
export function checkShardCount(shards: unknown): number {
  if (typeof shards !== 'number' || !Number.isInteger(shards) || shards < 1 || shards > 4096) throw new TypeError(`The shard count must be an integer from 1 to 4096, got ${String(shards)}.`)
  return shards
}

/**
 * The shard count of the deployment under `prefix`: the first host writes it
 * (`<prefix>config`, no lease: it outlives every host), every later one must agree. Given no
 * count (a forest), waits until a host wrote it.
 */
export async function shardCount(client: Etcd3, prefix: string, asked?: number, timeoutMs = 10_000): Promise<number> {
  const key = `${prefix}config`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (asked !== undefined) {
      await client
        .if(key, 'Create', '==', 0)
        .then(client.put(key).value(JSON.stringify({ shards: asked })))
        .commit()
    }
    const raw = await client.get(key).string()
    if (raw !== null) {
      let stored: number
      try {
        stored = checkShardCount((JSON.parse(raw) as { shards?: unknown }).shards)
      } catch {
        throw new TypeError(`etcd key ${key} holds no Zinc shard configuration (${raw.slice(0, 80)}); is the prefix shared with something else?`)
      }
      if (asked !== undefined && stored !== asked) throw new ShardCountMismatchError(prefix, stored, asked)
      return stored
    }
    if (Date.now() > deadline)
      throw new ZincError(
        'ERR_NO_SHARDS',
        `No sharded host has registered under etcd prefix "${prefix}" within ${timeoutMs} ms: start one (zinc host --coordinator etcd://… --shards N), or check the prefix.`,
      )
    await new Promise((r) => setTimeout(r, 200))
  }
}
