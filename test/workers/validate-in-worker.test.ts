/**
 * The root's `validate` content hook run in a worker thread pool (`workerFunction`): verdicts
 * reach the author as with an inline hook, and a validation whose thread dies is refused with
 * the reason (retried first), never half-applied, while the root keeps serving.
 */
import { ChangeRejectedError, Endpoint, workerFunction, type ChangeRequest, type Verdict } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, waitFor } from '../helpers.js'

const VALIDATE = new URL('./fixtures/validate.mjs', import.meta.url)
type Note = { title?: string }

const undo: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step()
})

describe('validate in a worker pool', () => {
  it("accepts and refuses with the worker's verdict, and refuses with the reason a change whose thread died", async () => {
    const validate = await workerFunction<ChangeRequest, Verdict>(VALIDATE, { threads: 1, retries: 1 })
    undo.push(() => validate.close())
    const network = new InprocNetwork()
    const host = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), bind: { inbound: network.uniqueAddress('h-in'), outbound: network.uniqueAddress('h-out') }, validate })
    undo.push(() => host.close())
    const client = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), join: host.addresses })
    undo.push(() => client.close())
    const doc = await client.open<Note>('note', { initial: {} })

    await expect(doc.change((d) => void (d.title = 'short'))!.confirmed).resolves.toBeGreaterThan(0)
    const long = doc.change((d) => void (d.title = 'a title far longer than twenty'))!
    await expect(long.confirmed).rejects.toBeInstanceOf(ChangeRejectedError)
    await expect(long.confirmed).rejects.toThrow(/title too long \(30 > 20\)/)

    // The fixture kills its thread on this title: retried once on a fresh thread, then refused.
    const crash = doc.change((d) => void (d.title = 'crash'))!
    await expect(crash.confirmed).rejects.toThrow(/crashed its worker thread/)
    expect(validate.stats).toMatchObject({ workerCrashes: 2, workerRetries: 1 })

    // Nothing of it was applied, and the root goes on validating.
    await expect(doc.change((d) => void (d.title = 'still here'))!.confirmed).resolves.toBeGreaterThan(0)
    const hostDoc = await host.open<Note>('note')
    await waitFor(() => hostDoc.seq === doc.seq, 'the host to hold the last change')
    expect(hostDoc.state).toEqual({ title: 'still here' })
    expect(doc.state).toEqual({ title: 'still here' })
  })
})
