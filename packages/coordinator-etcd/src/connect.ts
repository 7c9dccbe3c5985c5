import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop, retry } from 'cockatiel'
import { Etcd3, isRecoverableError } from 'etcd3'
import { EtcdUnreachableError } from './errors.js'

/**
 * A client of the etcd at `hosts`, checked to answer; an `EtcdUnreachableError` naming them
 * otherwise. One etcd: no retries or circuit breaker in the client; a call fails fast and the
 * callers retry on their own schedule (a breaker would keep etcd "down" for seconds after it is
 * back). Several: a failed call goes on to the next member at once, and a member that failed
 * twice in a row is skipped for a second (a renewal must not wait on a dead one).
 */
export async function connectEtcd(hosts: string[], dialTimeoutMs: number): Promise<Etcd3> {
  const faultHandling =
    hosts.length > 1
      ? {
          host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(2) }),
          global: retry(handleWhen(isRecoverableError), { maxAttempts: hosts.length - 1 }),
        }
      : { host: () => noop, global: noop }
  const client = new Etcd3({ hosts, dialTimeout: dialTimeoutMs, faultHandling })
  try {
    await client.maintenance.status({ deadline: Date.now() + dialTimeoutMs })
  } catch (error) {
    client.close()
    throw new EtcdUnreachableError(hosts, `${(error as Error).message.split('\n')[0]}`)
  }
  return client
}
