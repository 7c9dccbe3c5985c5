/**
 * Issue #14, "Bad input": every refusal is named in PROTOCOL.md with its error code, and each is
 * counted in `stats().refusedByCode`. The first test reads the sources: every code they refuse
 * with is in PROTOCOL.md's table (and every code there is used), and the only places that
 * encode a REFUSE or a REJECT are the ones that count. The second provokes the refusals a peer
 * can cause cheaply, over the in-process network, and reads the counts.
 */
import { encodeMessage, Endpoint, Kind, newEndpointId, AccessDeniedError, type DocId } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, waitFor } from './helpers.js'

const core = fileURLToPath(new URL('../packages/core/', import.meta.url))

function sources(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ path: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }))
}

describe('every refusal is named in PROTOCOL.md and counted', () => {
  it('the codes the endpoint refuses with are exactly those of PROTOCOL.md\u2019s Refusals table; REFUSE and REJECT are encoded only where they are counted', () => {
    const files = ['src/endpoint', 'src/document', 'src/protocol'].flatMap((d) => sources(join(core, d)))
    const used = new Set(files.flatMap((f) => [...f.text.matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]!)))
    const protocol = readFileSync(join(core, 'PROTOCOL.md'), 'utf8')
    const table = protocol.slice(protocol.indexOf('## Refusals'))
    const named = new Set([...table.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!))
    expect([...used].sort()).toEqual([...named].sort())
    // Where REFUSE and REJECT frames are made: Outbox.refuse and OriginAnswers#send, both counting.
    const refuseMakers = files.filter((f) => /kind: Kind\.REFUSE\b/.test(f.text)).map((f) => f.path.slice(core.length))
    const rejectMakers = files.filter((f) => /kind: Kind\.REJECT\b/.test(f.text)).map((f) => f.path.slice(core.length))
    expect(refuseMakers).toEqual(['src/endpoint/outbox.ts'])
    expect(rejectMakers).toEqual(['src/document/origin-answers.ts'])
    for (const path of [...refuseMakers, ...rejectMakers]) expect(readFileSync(join(core, path), 'utf8')).toContain('refusedByCode[code]')
  })
})

describe('refusals a peer provokes are counted by code', () => {
  const closers: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {})
  })

  it('ERR_AUTH, ERR_NOT_JOINED, ERR_NOT_OPEN, ERR_ACCESS_DENIED, ERR_CHANGE_REJECTED, ERR_BAD_VALUE, ERR_DOCUMENT_TOO_LARGE, ERR_RATE_LIMITED', async () => {
    const network = new InprocNetwork({ seed: 3 })
    const bind = { inbound: network.uniqueAddress('codes-in'), outbound: network.uniqueAddress('codes-out') }
    const root = await Endpoint.start({
      ...FAST,
      transport: new InprocTransport(network, { node: 'root' }),
      bind,
      maxDocumentBytes: 4096,
      childRateLimit: { perSecond: 5, burst: 5 },
      authenticate: ({ token }) => token === 'ok' || 'bad token',
      authorize: ({ doc, action }) => !(doc === 'locked' || (doc === 'readonly' && action === 'change')) || 'not for you',
    })
    closers.push(() => root.close())
    const make = async (token: string) => {
      const ep = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: newEndpointId() }), join: root.addresses, token })
      closers.push(() => ep.close())
      return ep
    }
    await expect(make('wrong')).rejects.toThrow(/bad token/)
    const tab = await make('ok')
    await expect(tab.open('locked')).rejects.toBeInstanceOf(AccessDeniedError)
    const ro = await tab.open<{ n?: number }>('readonly', { initial: {} })
    await expect(ro.change((d) => void (d.n = 1))!.confirmed).rejects.toThrow(/not for you/)
    const doc = await tab.open<Record<string, unknown>>('doc', { initial: {} })
    await expect(doc.change((d) => void (d.big = 'x'.repeat(8192)))!.confirmed).rejects.toThrow(/maxDocumentBytes/)
    await expect(tab.open('bad', { initial: JSON.parse('{"__proto__":{"x":1}}') as object })).rejects.toThrow(/__proto__/)
    // A stranger's change, a change for a document never opened, and a burst past the rate limit.
    const raw = await new InprocTransport(network, { node: 'raw' }).push(root.addresses!.inbound)
    closers.push(() => raw.close())
    await raw.send(encodeMessage({ kind: Kind.FRAGMENT, origin: newEndpointId(), doc: 'doc' as DocId, clientSeq: 1, epoch: root.stats().epoch, payload: new TextEncoder().encode('{"o":null}') }))
    await raw.send(encodeMessage({ kind: Kind.FRAGMENT, origin: tab.id, doc: 'never' as DocId, clientSeq: 1, epoch: root.stats().epoch, payload: new TextEncoder().encode('{"o":null}') }))
    for (let i = 0; i < 20; i++) {
      doc.presence.set({ i })
      // One presence per tick is sent: pace them so that more than the burst go up.
      await new Promise((r) => setTimeout(r, FAST.heartbeatMs / 2))
    }
    const expected = ['ERR_AUTH', 'ERR_NOT_JOINED', 'ERR_NOT_OPEN', 'ERR_ACCESS_DENIED', 'ERR_CHANGE_REJECTED', 'ERR_BAD_VALUE', 'ERR_DOCUMENT_TOO_LARGE', 'ERR_RATE_LIMITED']
    await waitFor(() => expected.every((code) => (root.stats().refusedByCode[code] ?? 0) >= 1), `every code counted (${JSON.stringify(root.stats().refusedByCode)})`)
  })
})
