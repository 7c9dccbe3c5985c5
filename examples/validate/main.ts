/**
 * Schema validation at the root: the `validate` hook checks every change against a zod schema
 * and refuses the ones that break it, with zod's own words as the reason the author sees.
 * Run: `npm run validate` (or `node examples/dist/validate/main.js` after `npx tsc -b`).
 *
 * Why zod: it is the schema library most TypeScript developers already know, the schema is
 * also the document's type (`z.infer`), and `z.prettifyError` gives a reason a person can read.
 * It runs on the server only, so valibot's smaller bundle would buy nothing here.
 */
import { Endpoint, type ChangeRequest } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { z } from 'zod'

const Card = z.object({ id: z.string(), title: z.string().min(1).max(80), done: z.boolean() })
const Board = z.object({ cards: z.array(Card).max(500) })
type Board = z.infer<typeof Board>

/** Accepts a change when the document it makes still fits the schema. */
function validate({ after }: ChangeRequest): true | string {
  const result = Board.safeParse(after)
  return result.success || `the board would not fit its schema: ${z.prettifyError(result.error)}`
}

const network = new InprocNetwork()
const transport = new InprocTransport(network)
const host = await Endpoint.start({ transport, bind: { inbound: 'inproc://host-in', outbound: 'inproc://host-out' }, validate })
const client = await Endpoint.start({ transport, join: host.addresses })
const doc = await client.open<Board>('board', { initial: { cards: [] } })
doc.onRejected((error) => console.log(`rejected: ${error.message}`))

const good = doc.change((d) => void d.cards.push({ id: 'c1', title: 'Write the README', done: false }))!
const bad = doc.change((d) => void d.cards.push({ id: 'c2', title: '', done: false }))!
console.log(`good change sequenced at seq ${await good.confirmed}`)
const reason = await bad.confirmed.then(
  () => 'accepted',
  (error: Error) => error.message,
)
console.log(`bad change: ${reason.includes('Too small') ? 'refused by the schema' : reason}`)
await doc.synced()
console.log(`cards on the board: ${doc.state.cards.map((c) => c.title).join(', ')}`)

await Promise.all([client.close(), host.close()])
if (doc.state.cards.length !== 1) process.exit(1)
