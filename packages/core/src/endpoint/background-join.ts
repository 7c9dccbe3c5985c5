import { JoinRefusedError } from '../errors.js'
import { sleep } from '../runtime/clock.js'
import type { Node } from './node.js'
import type { EndpointAddresses } from './options.js'

/**
 * The join of an endpoint started with `waitForParent: false`: retried (250 ms growing to 2 s
 * between attempts) until the parent welcomes it, then the timers start as after a plain
 * start. Documents opened meanwhile (from leaf storage) are reopened and their pending
 * changes sent by the welcome itself. A refusal (bad token) is final: an `error` event says it.
 */
export async function joinInBackground(node: Node, addresses: EndpointAddresses): Promise<void> {
  for (let attempt = 1; !node.closed; attempt++) {
    try {
      await node.join(addresses)
      break
    } catch (error) {
      if (node.closed) return
      if (error instanceof JoinRefusedError) {
        node.logger.warn({ err: error }, 'the parent refused this endpoint; not retrying')
        node.events.emit('error', error)
        return
      }
      node.logger.info({ attempt, reason: (error as Error).message }, 'could not join yet; retrying')
      await sleep(node.clock, Math.min(2000, 250 * attempt))
    }
  }
  if (node.closed) return
  node.startTimers()
  node.logger.info({ role: node.role }, 'endpoint joined in the background')
  node.events.emit('parent-back')
}
