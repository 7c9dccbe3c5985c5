import { AccessDeniedError, BadFrameError, DocumentRefusedError, ZincError } from '../errors.js'
import type { DocId, EndpointId } from '../ids.js'
import type { Replica } from '../document/replica.js'
import type { Message } from '../protocol/codec.js'
import { decodeJson } from '../protocol/json.js'
import { arrayAmplification } from '../protocol/patch-bounds.js'
import { decodeFragmentBody, type FragmentBody } from '../protocol/ops.js'
import { refusedPayload } from '../protocol/patches.js'
import { Kind, kindName } from '../protocol/kinds.js'
import type { Open } from '../protocol/payloads.js'
import { endpointTopic } from '../protocol/topics.js'
import type { PeerIdentity } from '../transport.js'
import type { NodeContext } from './context.js'
import { forwardUp } from './forwarding.js'
import type { IdentityViolation } from './identity.js'

/**
 * The checks a parent makes on what its direct children send, where values enter the tree:
 * identity (who may speak for whom), values (depth, forbidden keys, array amplification,
 * document size) and what it can answer. Each refusal has a code (PROTOCOL.md, "Refusals")
 * and is counted in `stats().refusedByCode`.
 */

/** Counts a refusal that is not sent as a REFUSE (`node.refuse` counts those) in `stats().refusedByCode`. */
export function countRefusal(node: NodeContext, code: string): void {
  node.stats.refusedByCode[code] = (node.stats.refusedByCode[code] ?? 0) + 1
}

/**
 * A HELLO's identity check: false when the frame is dropped, `'moved'` when the id comes back
 * on a new connection (it must pass `authenticate` again), true otherwise. An identity
 * violation gets no answer: the only topic to answer on belongs to the peer whose id was claimed.
 */
export function helloAllowed(node: NodeContext, id: EndpointId, peer: PeerIdentity | undefined): boolean | 'moved' {
  // Bindings of peers that left without joining (refused, gone) are forgotten now and then.
  if (node.identities.size > 2 * node.children.size + 64) node.identities.sweep((other) => node.children.has(other))
  const violation = node.identities.hello(id, peer, (other) => node.children.has(other))
  if (violation === undefined) return true
  if (violation === 'moved') return 'moved'
  forged(node, violation, id, id, peer, Kind.HELLO)
  return false
}

/** A non-HELLO frame from a known child: false when it is dropped for its identity. */
export function frameAllowed(node: NodeContext, m: Message, peer: PeerIdentity | undefined): boolean {
  const child = node.children.get(m.sender)
  if (!child) {
    // A stranger; but a connection that joined as someone else is not a stranger, it is lying.
    const lying = peer !== undefined && node.identities.speaksAs(peer.session, m.sender) === false
    if (lying) forged(node, 'wrong-sender', m.sender, m.origin, peer, m.kind)
    return !lying
  }
  const now = node.clock.now()
  const staleAfter = now - 2 * node.opts.heartbeatMs
  const violation = node.identities.check(
    m.sender,
    m.origin,
    peer,
    child.addresses !== undefined,
    (id) => node.children.has(id),
    (id) => (node.children.get(id)?.lastHeard ?? 0) < staleAfter,
    node.id,
    now,
    now - 2 * node.opts.peerTimeoutMs,
  )
  if (violation === undefined) return true
  forged(node, violation, m.sender, m.origin, peer, m.kind)
  // Its id is bound to a connection that closed: it is told to say hello on this one (a hello
  // moves the id, and the new connection must pass `authenticate` again). Anyone else claiming
  // it gains nothing: the answer goes to the id's own topic, and a hello is checked like any.
  if (violation === 'wrong-sender' && node.identities.rejoinDue(m.sender, now))
    node.refuse(m.sender, 'ERR_NOT_JOINED', 'this endpoint joined here on a connection that has closed; say hello again on this one')
  return false
}

/**
 * A BRANCH passes up another history's fragments under their authors' origins, unchecked one by
 * one (the root merges it whole). Only a child that can be promoted (it binds: as root it could
 * sequence anything anyway) may pass one; a leaf speaks for itself alone, and its own confirmed
 * changes come back as resends, checked like any change. Without this, a page could pack a
 * fragment under another's origin and next clientSeq into a branch: merged, it made that
 * endpoint's real next change a duplicate, reported confirmed and never applied.
 */
export function branchAllowed(node: NodeContext, m: Message, peer: PeerIdentity | undefined): boolean {
  if (node.children.get(m.sender)?.addresses !== undefined) return true
  forged(node, 'branch-from-leaf', m.sender, m.origin, peer, m.kind)
  return false
}

function forged(node: NodeContext, violation: IdentityViolation, sender: EndpointId, origin: EndpointId, peer: PeerIdentity | undefined, kind: number): void {
  node.stats.forged++
  countRefusal(node, 'ERR_IDENTITY')
  const now = Date.now()
  if (now - node.forgedLoggedAt < 1000) return
  node.forgedLoggedAt = now
  node.logger.warn({ violation, kind: kindName(kind), sender, origin, remote: peer?.remoteAddress }, 'dropped a frame whose sender or origin is not the connection it came on')
}

/**
 * An OPEN's initial value, checked where it enters; a refusal names the document. Returns
 * false when refused.
 */
export function openValueAllowed(node: NodeContext, m: Message, open: Open): boolean {
  if (!open.hasInitial) return true
  try {
    decodeJson(open.initial, 'the initial value')
    return true
  } catch (error) {
    const reason = error instanceof BadFrameError ? error.reason : String(error)
    refuseDoc(node, m.origin, m.doc as DocId, 'ERR_BAD_VALUE', `${reason}; open it with a plain JSON value (at most 512 levels deep, no "__proto__", "constructor" or "prototype" keys)`)
    return false
  }
}

/** A PRESENCE value from a direct child: dropped (and counted) when it is not a safe value. */
export function presenceAllowed(node: NodeContext, m: Message, direct: boolean): boolean {
  if (!direct || m.payload.byteLength === 0) return true
  try {
    decodeJson(m.payload, 'a presence value')
    return true
  } catch {
    node.stats.dropped++
    countRefusal(node, 'ERR_BAD_VALUE')
    return false
  }
}

/**
 * A change, checked against this endpoint's copy: from a direct child (where it enters),
 * well-formed patches and no array amplification; at the root, whoever forwarded it, the
 * document stays within `maxDocumentBytes`.
 * Returns the reason it is refused, or undefined; `decoded.body` is then the checked body
 * (when it was decoded here), for the sequencer to take as is.
 */
export function fragmentProblem(node: NodeContext, m: Message, replica: Replica, direct: boolean, decoded?: { body?: FragmentBody | undefined }): { code: string; reason: string } | undefined {
  if (direct) {
    let body
    try {
      body = decodeFragmentBody(m.payload)
    } catch (error) {
      return { code: 'ERR_BAD_VALUE', reason: error instanceof BadFrameError ? error.reason : String(error) }
    }
    // The root sequences this very body (it parsed and checked the same bytes): a second
    // decode cost a JSON.parse and a check walk per fragment, at every change.
    if (decoded) decoded.body = body
    // An op (ot-json1) cannot leave holes: json1 refuses out-of-range indexes and `length` keys
    // when the root applies it. Patches (the older format, still read) are checked here.
    if (body.patches && replica.ready) {
      const amplified = arrayAmplification(replica.confirmed, body.patches)
      if (amplified) return { code: 'ERR_BAD_VALUE', reason: amplified }
    }
  }
  if (node.succession.isRoot) {
    const over = node.documentSizes.wouldExceed(replica, m.payload.byteLength, node.opts.maxDocumentBytes)
    if (over !== undefined) {
      return {
        code: 'ERR_DOCUMENT_TOO_LARGE',
        reason: `document "${replica.doc}" would grow past maxDocumentBytes (${node.opts.maxDocumentBytes} bytes; it is about ${over}); remove content or split it into several documents`,
      }
    }
  }
  return undefined
}

/**
 * Refuses a change that failed {@link fragmentProblem}. The root rejects it (the origin rolls it
 * back). A relay forwards it up with its patches replaced by the reason, so the root marks that
 * clientSeq rejected and the origin's later changes are not held behind a gap.
 */
export function refuseFragment(node: NodeContext, m: Message, problem: { code: string; reason: string }): void {
  countRefusal(node, problem.code)
  node.logger.warn({ origin: m.origin, doc: m.doc, code: problem.code, reason: problem.reason }, 'refused a change')
  if (node.succession.isRoot) return node.replicas.get(m.doc as DocId)?.sequencer?.refuse(m, `${problem.code}: ${problem.reason}`)
  forwardUp(node, { ...m, payload: refusedPayload(`${problem.code}: ${problem.reason}`) })
}

/** A targeted refusal of `doc` to `to` (counted by `refuse`). */
export function refuseDoc(node: NodeContext, to: EndpointId, doc: DocId, code: string, reason: string): void {
  node.refuse(to, code, reason, doc)
}

/**
 * Sends an open's answer, or refuses that one open when the answer cannot be sent (a
 * snapshot over `maxMessageBytes`): the opener hears why instead of waiting forever, and no
 * other opener is held up.
 */
export function serveOpen(node: NodeContext, to: EndpointId, doc: DocId, answer: () => Uint8Array): void {
  let bytes: Uint8Array
  try {
    bytes = answer()
  } catch (error) {
    node.logger.error({ err: error, doc }, 'could not make the answer to an open')
    return refuseDoc(node, to, doc, 'ERR_TOO_LARGE', `this endpoint could not encode the document (${(error as Error).message}); ask the operator to raise maxMessageBytes or split the document`)
  }
  if (bytes.byteLength > node.opts.maxMessageBytes) {
    node.logger.warn({ doc, bytes: bytes.byteLength, limit: node.opts.maxMessageBytes }, 'a snapshot is larger than maxMessageBytes; refusing that open')
    return refuseDoc(
      node,
      to,
      doc,
      'ERR_TOO_LARGE',
      `its snapshot is ${bytes.byteLength} bytes, more than maxMessageBytes (${node.opts.maxMessageBytes}); ask the operator to raise maxMessageBytes or split the document`,
    )
  }
  node.stats.served++
  node.publish(endpointTopic(to), bytes)
}

/**
 * When this relay's own open of `replica` is refused by its parent, every child waiting on it
 * hears the same refusal (and not silence).
 */
export function relayRefusal(node: NodeContext, replica: Replica, to: EndpointId): () => void {
  return replica.events.once('refused', (error) => {
    const code = error instanceof ZincError ? error.code : 'ERR_ACCESS_DENIED'
    const reason = error instanceof DocumentRefusedError ? error.reason : error.message
    refuseDoc(node, to, replica.doc, code, reason)
  })
}

/** The error an opener sees for a refusal of `doc` with `code`. */
export function refusalError(doc: string, code: string, reason: string): AccessDeniedError | DocumentRefusedError {
  if (code === 'ERR_ACCESS_DENIED') return new AccessDeniedError(doc, 'open', reason)
  return new DocumentRefusedError(doc, code, reason)
}

/**
 * Loads a document at the root. A store that cannot verify it (`ERR_STORAGE_CORRUPT`) answers
 * its openers with that refusal, naming the document: final, an operator must act. Any other
 * failure answers `ERR_UNAVAILABLE`, which openers retry.
 */
export async function openAtRootOrRefuse(node: NodeContext, m: Message, initial: unknown): Promise<Replica | undefined> {
  try {
    return await node.replicas.openAtRoot(m.doc as DocId, initial)
  } catch (error) {
    const doc = m.doc as DocId
    const detail = (error as Error).message
    if ((error as { code?: unknown }).code === 'ERR_STORAGE_CORRUPT') {
      refuseDoc(node, m.origin, doc, 'ERR_STORAGE_CORRUPT', `the root's stored copy of document "${doc}" is damaged (${detail}); the operator must restore it from a backup or move it aside`)
    } else {
      refuseDoc(node, m.origin, doc, 'ERR_UNAVAILABLE', `the root could not load document "${doc}" just now (${detail}); the open is retried`)
    }
    return undefined
  }
}
