/** PUB/SUB topics (PROTOCOL.md, "Topics"). Prefix matching makes these choices matter. */

/** Control traffic: heartbeats, roster, application messages. */
export const CONTROL_TOPIC = 'c'

/** Sequenced fragments and presence of one document. A trailing NUL ends the id, so that
 *  subscribing to `d/a` does not also deliver `d/ab` (ZeroMQ filters by byte prefix). */
export function docTopic(doc: string): string {
  return `d/${doc}\u0000`
}

/** Replies addressed to one endpoint. */
export function endpointTopic(id: string): string {
  return `e/${id}`
}

export function isEndpointTopic(topic: string): boolean {
  return topic.startsWith('e/')
}

export function endpointOfTopic(topic: string): string {
  return topic.slice(2)
}
