import type { Replica } from '../document/replica.js'
import type { NodeContext } from './context.js'

/**
 * How long an open from a child ahead of us waits for us to catch up: our parent's death
 * noticed, our promotion, and recovery's fetch (which brings what the child holds).
 */
const AHEAD_WAIT_TIMEOUTS = 4

/**
 * Calls `serve` once `replica` has reached `seq`, or once waiting is pointless.
 *
 * A child that opens at a seq beyond ours holds sequenced fragments we have not heard yet:
 * it re-joined us after the root died, having noticed first, or our parent's stream is
 * behind its old one. Answered now, it could only get a snapshot of our older state, and
 * would take it as the root having lost its changes: its confirmed changes would go up again
 * to be placed on another base, where they may no longer apply. Waiting costs nothing when
 * our parent is alive (its stream brings us there within a heartbeat or two), and when it is
 * dead, recovery fetches the child's fragments once we are promoted. After the wait it is
 * served as before.
 */
export function whenReached(node: NodeContext, replica: Replica, seq: number, serve: () => void): void {
  if (replica.seq >= seq) return serve()
  const deadline = node.clock.now() + node.opts.peerTimeoutMs * AHEAD_WAIT_TIMEOUTS
  const timer = node.clock.setInterval(() => {
    if (node.closed) return node.clock.clearInterval(timer)
    if (replica.seq < seq && node.clock.now() < deadline) return
    node.clock.clearInterval(timer)
    serve()
  }, node.opts.heartbeatMs)
}
