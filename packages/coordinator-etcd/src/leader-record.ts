import type { CoordinatedMember, EndpointId, Leader } from '@zinc/core'
import type { Etcd3 } from 'etcd3'

/** A leader, with what the key says of its host. */
export type Followed = Leader & { host?: string; incarnation?: string; stores?: boolean }

/** What the leader key holds. */
export interface LeaderValue {
  id: EndpointId
  inbound: string
  outbound: string
  /** The host (ShardedHost) this endpoint belongs to, in a sharded deployment. */
  host?: string
  /** Which run of that host (a host restarted under its id is another one). */
  incarnation?: string
  /** The endpoint keeps a store of its own: documents nobody has open may be only there. */
  stores?: boolean
}

/** The leader key's value parsed, or undefined when it holds no Zinc endpoint. */
export function parseLeaderValue(raw: string): LeaderValue | undefined {
  try {
    const value = JSON.parse(raw) as LeaderValue
    return typeof value?.id === 'string' ? value : undefined
  } catch {
    return undefined
  }
}

/** The leader a key's value names, at `epoch`, with what it says of its host. */
export function followedOf(value: LeaderValue, epoch: number): Followed {
  return {
    id: value.id,
    epoch,
    addresses: { inbound: value.inbound, outbound: value.outbound },
    ...(value.host ? { host: value.host } : {}),
    ...(value.incarnation ? { incarnation: value.incarnation } : {}),
    ...(value.stores ? { stores: true } : {}),
  }
}

/**
 * `<prefix>last-leader`: who led an election last, with its epoch. Every new leader reads who
 * led before it from here — not only from what its own watch saw: a member cut off from etcd,
 * or elected right as the key it would have followed went, never saw that leader — and writes
 * itself in its place (a plain key, not bound to a lease: it must outlive its writer).
 *
 * Returns the previous leader (`previous`: another member that led before us; `found`: whether
 * any record existed), or `false` when etcd could not be reached or our candidacy (`myKey`,
 * created at `epoch`) is no longer the lowest key: the record is written only while it is, so
 * a leader elected after us cannot be overwritten by our late write.
 */
export async function takeOverLastLeader(
  client: Etcd3,
  prefix: string,
  myKey: string,
  epoch: number,
  ours: LeaderValue,
  member: CoordinatedMember,
  deadlineMs: number,
): Promise<{ found: boolean; previous?: Followed } | false> {
  const key = `${prefix}last-leader`
  const options = { deadline: Date.now() + deadlineMs }
  try {
    const raw = await client.get(key).options(options).string()
    const value = raw ? parseLeaderValue(raw) : undefined
    if (raw && !value) member.logger.error({ key }, 'the etcd record of the last leader holds no Zinc endpoint; is the prefix shared with something else?')
    const recordedEpoch = (value as { epoch?: unknown } | undefined)?.epoch
    const previous = value && value.id !== member.id && typeof recordedEpoch === 'number' && recordedEpoch < epoch ? followedOf(value, recordedEpoch) : undefined
    const txn = await client
      .if(myKey, 'Create', '==', epoch)
      .then(client.put(key).value(JSON.stringify({ ...ours, epoch })))
      .options(options)
      .commit()
    if (!txn.succeeded) return false
    return { found: raw !== null, ...(previous ? { previous } : {}) }
  } catch {
    return false
  }
}
