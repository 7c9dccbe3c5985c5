import { endpointIdFromBytes, endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { AccessCodec, type Access } from '../protocol/payloads.js'
import { endpointTopic } from '../protocol/topics.js'
import type { AccessDecision, AccessWaiter } from './access-cache.js'
import type { NodeContext, Work } from './context.js'
import { callHook } from './hooks.js'
import { HookError } from '../errors.js'

/**
 * A relay serves opens from its own copy, but only the root's `authorize` decides who may open
 * and read a document. Before serving a child's open, a relay asks up the tree (ACCESS, with the
 * opener as `origin`); the root answers on `e/<asking relay>` with its decision and how long it holds
 * (`accessCacheMs`). Each relay on the way keeps the decision for that long (AccessCache) and
 * answers the relays below it from there. So a revoked permission takes effect at every relay
 * within `accessCacheMs`, a refusal is never served as an allowance, and a root without an
 * `authorize` hook says so once per `accessCacheMs` for everyone (a crowd opening a document at
 * an edge costs the root one question, not one per tab).
 */

/** Calls `then` with the root's decision on `subject` opening and reading `doc`: at once when known, else when the root answers. */
export function askRoot(node: NodeContext, subject: EndpointId, doc: DocId, who: AccessWaiter, then: (decision: AccessDecision) => void): void {
  const now = node.clock.now()
  const known = node.access.cached(subject, doc, now)
  if (known) return then(known.decision)
  const ask = node.access.wait(subject, doc, who, then, now)
  if (ask === undefined) {
    return then({ allowed: false, code: 'ERR_UNAVAILABLE', reason: 'this relay has too many questions to the root in flight; the open is retried' })
  }
  if (ask) sendQuestion(node, subject, doc)
}

function sendQuestion(node: NodeContext, subject: EndpointId, doc: DocId): void {
  // The answer comes on our own e/<id> (subscribed since the join: no subscription to race).
  node.sendUp(encodeMessage({ kind: Kind.ACCESS, origin: subject, sender: node.id, doc, epoch: node.succession.epoch }))
}

/** An ACCESS question from a relay child: answered here at the root, from the cache, or asked further up. */
export function onAccessQuestion(node: NodeContext, { message: m }: Work): void | Promise<void> {
  // Only a relay serves opens from its own copy; a leaf has nothing to ask.
  if (!node.children.get(m.sender)?.addresses) return void node.stats.dropped++
  const subject = m.origin
  const doc = m.doc as DocId
  const asker = m.sender
  if (node.succession.isRoot) return decideAtRoot(node, subject, doc).then((access) => publishAnswer(node, asker, doc, access))
  askRoot(node, subject, doc, 'relay', (decision) => {
    // The root did not answer in time: the relay below gives up on its own, and its opener retries.
    if (!decision.allowed && decision.code === 'ERR_UNAVAILABLE') return
    // Passed on for what is left of the root's ttl, so the bound holds from the root down.
    const now = node.clock.now()
    const known = node.access.cached(subject, doc, now)
    const ttlMs = known ? Math.max(0, Math.floor(known.until - now)) : 0
    publishAnswer(node, asker, doc, { ...toAccess(subject, decision), ttlMs, everyone: known?.everyone ?? false })
  })
}

/** The parent's answer (the root's decision, or the parent's copy of it) on our `e/<id>`: kept, and the waiting opens go on. */
export function onAccessAnswer(node: NodeContext, { message: m, topic, link }: Work): void {
  if (m.sender !== link?.parentId) {
    node.stats.dropped++
    return node.refusal('forged-control')
  }
  if (topic !== endpointTopic(node.id)) return void node.stats.dropped++
  const access = AccessCodec.decode(m.payload)
  const subject = endpointIdFromBytes(access.endpoint)
  for (const settle of node.access.answer(subject, m.doc as DocId, access, node.clock.now())) settle()
  for (const p of node.access.release(node.clock.now())) sendQuestion(node, p.subject, p.doc)
}

/**
 * Every tick at a relay: questions the root has not answered are asked again (after
 * `resendMs`), and given up after a peer timeout plus a hook timeout (the opener hears
 * `ERR_UNAVAILABLE` and retries). An endpoint promoted to root answers its own.
 */
export function accessTick(node: NodeContext): void {
  if (node.access.inFlight === 0) return
  if (node.succession.isRoot) {
    for (const p of node.access.takeAll()) {
      void decideAtRoot(node, p.subject, p.doc).then((access) => {
        const decision = fromAccess(access)
        for (const settle of p.waiters.values()) settle(decision)
      })
    }
    return
  }
  const { again, expired } = node.access.due(node.clock.now(), node.opts.resendMs, node.opts.peerTimeoutMs + node.opts.hookTimeoutMs)
  if (node.parent?.welcomed) for (const p of again) sendQuestion(node, p.subject, p.doc)
  const unavailable: AccessDecision = { allowed: false, code: 'ERR_UNAVAILABLE', reason: 'the root did not answer whether this endpoint may open the document; the open is retried' }
  for (const p of expired) for (const settle of p.waiters.values()) settle(unavailable)
}

/**
 * The root's own decision: its `authorize` for `open` and `read`, each call bounded by
 * `hookTimeoutMs`. A hook that times out answers `ERR_UNAVAILABLE` (the opener retries); one that
 * throws, `ERR_BAD_REQUEST` (as an open at the root would). Neither is kept.
 */
export async function decideAtRoot(node: NodeContext, subject: EndpointId, doc: DocId): Promise<Access> {
  const ttlMs = node.opts.accessCacheMs
  const authorize = node.opts.authorize
  const base = { endpoint: endpointIdToBytes(subject), ttlMs, everyone: false, reason: '', code: '' }
  if (!authorize) return { ...base, allowed: true, everyone: true }
  try {
    for (const action of ['open', 'read'] as const) {
      const verdict = await callHook('authorize', () => authorize({ endpoint: subject, doc, action }), node.opts.hookTimeoutMs, node.clock)
      if (verdict !== true) {
        const reason = typeof verdict === 'string' && verdict ? verdict : `not allowed to ${action} this document`
        return { ...base, allowed: false, code: 'ERR_ACCESS_DENIED', reason }
      }
    }
    return { ...base, allowed: true }
  } catch (error) {
    node.stats.hookErrors++
    node.logger.warn({ err: error, endpoint: subject, doc }, "the authorize hook failed; refusing that relay's open")
    const timedOut = error instanceof HookError && error.timedOut
    const code = timedOut ? 'ERR_UNAVAILABLE' : 'ERR_BAD_REQUEST'
    const reason = timedOut ? `the root's authorize hook did not answer within ${node.opts.hookTimeoutMs} ms; the open is retried` : `the open could not be handled: ${(error as Error).message}`
    return { ...base, allowed: false, ttlMs: 0, code, reason }
  }
}

/** Answers the relay child `to` that asked. */
function publishAnswer(node: NodeContext, to: EndpointId, doc: DocId, access: Access): void {
  const payload = AccessCodec.encode(access)
  node.publish(endpointTopic(to), encodeMessage({ kind: Kind.ACCESS, origin: node.id, doc, epoch: node.succession.epoch, payload }))
}

function toAccess(subject: EndpointId, decision: AccessDecision): Access {
  const base = { endpoint: endpointIdToBytes(subject), ttlMs: 0, everyone: false }
  return decision.allowed ? { ...base, allowed: true, reason: '', code: '' } : { ...base, allowed: false, reason: decision.reason, code: decision.code }
}

function fromAccess(access: Access): AccessDecision {
  return access.allowed ? { allowed: true } : { allowed: false, code: access.code || 'ERR_ACCESS_DENIED', reason: access.reason }
}
