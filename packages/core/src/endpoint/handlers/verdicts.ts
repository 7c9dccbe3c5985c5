import type { Message } from '../../protocol/codec.js'
import type { NodeContext } from '../context.js'
import type { AccessRequest, Verdict } from '../options.js'

// How a child's request is decided and answered: the application's verdicts (authenticate,
// authorize) and their words in a refusal, and a refusal instead of silence when handling fails.

/**
 * Runs a request handler so that the requester always gets an answer: when the handler fails
 * (a hook threw, the request was malformed), it gets a refusal saying why instead of silence.
 */
export async function answered(node: NodeContext, m: Message, code: string, handler: (node: NodeContext, m: Message) => Promise<void>): Promise<void> {
  try {
    await handler(node, m)
  } catch (error) {
    node.stats.handlerErrors++
    node.logger.warn({ err: error, from: m.origin, kind: m.kind }, 'a request failed; refusing it')
    node.refuse(m.origin, code, `the request could not be handled: ${(error as Error).message}`, m.doc)
  }
}

/** The authorize hook's verdict; synchronous when there is no hook (the hot path stays sync). */
export function allowed(node: NodeContext, request: AccessRequest): Verdict | Promise<Verdict> {
  if (!node.opts.authorize || request.endpoint === node.id) return true
  return node.opts.authorize(request)
}

export function reasonOf(verdict: Verdict, fallback: string): string {
  return typeof verdict === 'string' && verdict ? verdict : fallback
}
