import type { Etcd3 } from 'etcd3'

/** Options of {@link etcd}. */
export interface EtcdCoordinatorOptions {
  /** etcd client endpoints, e.g. `['127.0.0.1:2379']` or `['http://10.0.0.1:2379', …]`. */
  endpoints: string[]
  /** Key prefix of this Zinc deployment; one election per prefix. Default `zinc/`. */
  prefix?: string
  /**
   * Lease TTL: how long a root that stopped renewing (dead, paused, cut off from etcd) keeps
   * the role before a successor is elected. etcd counts whole seconds (at least its minimum,
   * 2 s for a default etcd); rounded up. Default 5000.
   */
  leaseTtlMs?: number
  /**
   * How much earlier than its lease's certain end a root stops acknowledging, for clock drift
   * between this process and etcd and the time from a check to the message leaving. Default: a
   * fifth of the TTL, at least 250 ms.
   */
  marginMs?: number
  /** Gives up connecting at start after this long. Default 3000. */
  dialTimeoutMs?: number
}

/**
 * How one shard's election differs from a whole tree's (set by ShardedHost and Forest, not by
 * users): candidates stand only while the shard is theirs, and share their host's client.
 */
export interface ElectionHooks {
  /** One etcd client shared by every election of a process; this coordinator does not close it. */
  client: Etcd3
  /** Whether to stand now (a host stands for the shards assigned to it; a forest never). */
  stand: () => boolean
  /** The host this endpoint belongs to, written into the leader key. */
  host?: string
  /** Which run of the host this is (a restart under the same id is another), written with it. */
  incarnation?: string
  /** Whether this member keeps a store of its own (its `storage`), written with it. */
  stores?: boolean
  /**
   * Whether that run of a host is still registered: a leader that gave way while alive handed
   * over. A previous run of a host (restarted under its id) is not alive: it hands nothing over.
   */
  alive?: (host: string, incarnation?: string) => boolean
  /** Which documents belong to this election (its shard): loaded from storage before a handover. */
  owns?: (doc: string) => boolean
  /**
   * Which host's store holds each document's latest copy (per-host stores, see doc-records.ts):
   * told when this member's terms start and end, and asked before the root loads a document
   * (checkDocument).
   */
  records?: {
    /** This member leads under leader key `key` at `epoch`: records are written only while that key leads. */
    newTerm(key: string, epoch: number): void
    /** This member no longer leads. */
    endTerm(): void
    /** This member closes. */
    close(): void
    /** Resolves when this root may load `doc` from its own store or create it; rejects saying where its latest copy is otherwise. */
    check(doc: string, opening?: boolean): Promise<void>
  }
}
