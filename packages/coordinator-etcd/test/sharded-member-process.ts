import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Line, MemberProcess } from './member-process.js'

/** The script of a sharded host process (`sharded-member.mjs`), for `new MemberProcess(…)`. */
export const SHARDED_MEMBER = join(dirname(fileURLToPath(import.meta.url)), 'sharded-member.mjs')

/** A sharded host's answer to `report`: the shards it leads now, and each endpoint's epoch. */
export type ShardReport = Line & { led: number[]; endpoints: Array<{ shard: number; epoch: number }> }

/** Asks a sharded host process for its report and waits for the answer. */
export async function report(host: MemberProcess): Promise<ShardReport> {
  const skip = host.of('report').length
  host.send('report')
  return (await host.next('report', skip)) as ShardReport
}
