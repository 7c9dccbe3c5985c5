import { ZincError } from '@zinc/core'

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
