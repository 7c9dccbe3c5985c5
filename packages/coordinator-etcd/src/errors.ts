import { STORED_ELSEWHERE_CODE, ZincError } from '@zinc/core'

/** etcd could not be reached at start. */
export class EtcdUnreachableError extends ZincError {
  constructor(
    readonly endpoints: readonly string[],
    reason: string,
  ) {
    super(
      'ERR_ETCD_UNREACHABLE',
      `Cannot reach etcd at ${endpoints.join(', ')} (${reason}). Start etcd there (Debian: apt-get install etcd-server; scripts/ensure-etcd.sh does it) or fix the coordinator's \`endpoints\`.`,
    )
  }
}

/**
 * A root of a shard was asked for a document whose latest copy is in another host's store
 * (documents sharded across hosts with a store each): it neither creates it anew nor serves an
 * older copy of its own. The open is retried until that host leads the shard again.
 */
export class StoredElsewhereError extends ZincError {
  constructor(
    readonly doc: string,
    readonly shard: string,
    readonly holder: string,
    readonly holderRunning: boolean,
  ) {
    super(
      STORED_ELSEWHERE_CODE,
      `document "${doc}" exists, and its latest copy is in the store of host ${holder}, ` +
        (holderRunning ? `which is running but does not lead ${shard} now` : `which is not running (not registered in etcd)`) +
        `; this root will not create it anew nor serve an older copy (a confirmed change would be lost). ` +
        (holderRunning
          ? `The shard is lent to host ${holder} so that it serves it (the open is retried); if this persists, check that host ${holder} reaches etcd and the other hosts.`
          : `Restart host ${holder} with its store (under the same host id, with the same data directory): it takes its shards back and serves it.`) +
        ` Or give every host a shared store (onLoad / onStore hooks on a common database)`,
    )
  }
}
