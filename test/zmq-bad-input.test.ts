/**
 * Bad input over real ZeroMQ: raw zeromq.js sockets connect to an Endpoint's inbound PULL over
 * tcp and send garbage, oversize frames, extra frames and well-formed nonsense. Every frame is
 * counted and dropped, no document changes, and the endpoint keeps serving a real client.
 * Then the errors of binding a taken or malformed address and of joining something that is
 * not a Zinc endpoint.
 */
import { AddressInUseError, BindError, encodeMessage, Endpoint, JoinTimeoutError, Kind, newEndpointId, UnsupportedAddressError, type DocId, type EndpointStats } from '@zinc/core'
import { Publisher, Pull, Router } from 'zeromq'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from './helpers.js'
import { LOOPBACK, RawPush, Resources, ZMQ_FAST } from './zmq-helpers.js'

let res = new Resources()
afterEach(async () => {
  await res.close()
  res = new Resources()
})

const enc = new TextEncoder()
type Board = { shapes: Record<string, { x: number }> }

/** A raw socket speaking as a PUSH to `address`, closed after the test. */
function rawPush(address: string): RawPush {
  const push = new RawPush().connect(address)
  res.add(() => push.close())
  return push
}

/** A hand-made protobuf Envelope, for what encodeMessage refuses to make. */
function envelope(fields: { version?: number; kind?: number; origin?: Uint8Array; epoch?: number }): Uint8Array {
  const out: number[] = []
  const varint = (field: number, v: number) => out.push((field << 3) | 0, ...leb128(v))
  const bytes = (field: number, b: Uint8Array) => out.push((field << 3) | 2, ...leb128(b.length), ...b)
  if (fields.version !== undefined) varint(1, fields.version)
  if (fields.kind !== undefined) varint(2, fields.kind)
  if (fields.origin !== undefined) {
    bytes(3, fields.origin)
    bytes(4, fields.origin)
  }
  if (fields.epoch !== undefined) varint(8, fields.epoch)
  return Uint8Array.from(out)
}

function leb128(v: number): number[] {
  const out: number[] = []
  do {
    let b = v & 0x7f
    v >>>= 7
    if (v) b |= 0x80
    out.push(b)
  } while (v)
  return out
}

const COUNTERS = ['badFrames', 'dropped', 'rejected', 'sequenced', 'handlerErrors'] as const
/** `refused`: dropped or rejected — a well-formed message that makes no sense here (PROTOCOL.md, Validation). */
type Counted = 'badFrames' | 'dropped' | 'rejected' | 'refused'

describe('bad input on an endpoint inbound over tcp', () => {
  async function setup(options: { maxMessageBytes?: number } = {}) {
    const root = await res.endpoint({ ...options, peerTimeoutMs: 10_000 })
    const rootDoc = await root.open<Board>('doc', { initial: { shapes: { a: { x: 1 } } } })
    const client = await res.endpoint({ join: root.addresses })
    const clientDoc = await client.open<Board>('doc')
    return { root, rootDoc, client, clientDoc }
  }

  /** Sends `frames` and waits until exactly `counter` went up by one (and nothing else did). */
  async function expectCounted(root: Endpoint, push: RawPush, frames: Uint8Array | Uint8Array[], counter: Counted, what: string): Promise<void> {
    const before = root.stats()
    await push.send(frames)
    const changed = () => COUNTERS.some((c) => root.stats()[c] !== before[c]) || root.stats().duplicates !== before.duplicates
    await waitFor(changed, `${what} counted in stats().${counter}`, 10_000)
    const after = root.stats()
    const delta = Object.fromEntries(COUNTERS.map((c) => [c, after[c] - before[c]])) as Record<(typeof COUNTERS)[number], number>
    const expected = Object.fromEntries(COUNTERS.map((c) => [c, c === counter ? 1 : 0])) as Record<(typeof COUNTERS)[number], number>
    if (counter === 'refused') {
      expected.dropped = delta.dropped
      expected.rejected = delta.rejected
      expect(delta.dropped + delta.rejected, `${what}: dropped + rejected`).toBe(1)
    }
    expect(delta, what).toEqual(expected)
  }

  it('garbage, empty, truncated, extra frames, wrong version, unknown kind and bad UUIDs are bad frames', async () => {
    const { root, rootDoc, clientDoc } = await setup()
    const push = rawPush(root.addresses.inbound)
    const valid = encodeMessage({ kind: Kind.HEARTBEAT, origin: newEndpointId(), epoch: 1 })
    const fragment = encodeMessage({ kind: Kind.FRAGMENT, origin: newEndpointId(), doc: 'doc' as DocId, clientSeq: 1, epoch: 1, payload: enc.encode('[]') })
    const version2 = Uint8Array.from(valid)
    expect(version2[0]).toBe(0x08) // field 1 (version), varint
    version2[1] = 2
    const id = crypto.getRandomValues(new Uint8Array(16))
    const cases: Array<[string, Uint8Array | Uint8Array[]]> = [
      ['random bytes', Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff)],
      ['an empty frame', new Uint8Array(0)],
      ['a message with an extra frame', [valid, enc.encode('extra')]],
      ['a message of three frames', [new Uint8Array(0), valid, valid]],
      ['protobuf cut inside its payload field', fragment.subarray(0, fragment.length - 1)],
      ['protobuf cut inside its origin field', fragment.subarray(0, 10)],
      ['JSON instead of protobuf', enc.encode('{"kind":"FRAGMENT","doc":"doc"}')],
      ['protocol version 2', version2],
      ['an unknown kind', envelope({ version: 1, kind: 99, origin: id, epoch: 1 })],
      ['a 3-byte origin', envelope({ version: 1, kind: Kind.HEARTBEAT, origin: Uint8Array.of(1, 2, 3), epoch: 1 })],
      ['no kind at all', envelope({ version: 1, origin: id, epoch: 1 })],
    ]
    for (const [what, frames] of cases) await expectCounted(root, push, frames, 'badFrames', what)

    // The real client still syncs, and nothing else touched the document.
    await clientDoc.change((s) => void (s.shapes.b = { x: 2 }))!.confirmed
    await waitFor(() => rootDoc.seq === 1, 'the real change sequenced')
    expect(rootDoc.state).toEqual({ shapes: { a: { x: 1 }, b: { x: 2 } } })
    expect(root.stats().badFrames).toBe(cases.length)
    expect(root.stats().sequenced).toBe(1)
  })

  it('well-formed nonsense: strangers, unknown documents, bad patches from a hostile child', async () => {
    const { root, rootDoc, client, clientDoc } = await setup()
    const push = rawPush(root.addresses.inbound)
    const stranger = newEndpointId()
    const patch = (p: unknown) => enc.encode(JSON.stringify(p))
    const frag = (origin: string, doc: string, clientSeq: number, payload: Uint8Array, seq = 0) =>
      encodeMessage({ kind: Kind.FRAGMENT, origin: origin as never, doc: doc as DocId, clientSeq, seq, epoch: root.epoch, payload })
    const good = patch([{ op: 'add', path: ['shapes', 'evil'], value: { x: 666 } }])

    // From an endpoint that never joined: dropped, whatever it says.
    await expectCounted(root, push, frag(stranger, 'doc', 1, good), 'dropped', 'a FRAGMENT from a stranger')
    await expectCounted(root, push, encodeMessage({ kind: Kind.OPEN, origin: stranger as never, doc: 'doc' as DocId, epoch: root.epoch }), 'dropped', 'an OPEN from a stranger')
    // Down-stream kinds sent upstream by a stranger.
    await expectCounted(root, push, encodeMessage({ kind: Kind.WELCOME, origin: stranger as never, epoch: root.epoch }), 'dropped', 'a WELCOME sent upstream')

    // A hostile child: the raw socket says HELLO (nothing is authenticated here) and opens the document.
    const hostile = newEndpointId()
    await push.send(encodeMessage({ kind: Kind.HELLO, origin: hostile as never, epoch: root.epoch }))
    await waitFor(() => root.peers.some((p) => p.id === hostile), 'the raw socket joined as a child')
    // Changing a document it never opened: rejected.
    await expectCounted(root, push, frag(hostile, 'nope', 1, good), 'refused', 'a FRAGMENT for an unknown document')
    const served = root.stats().served
    await push.send(encodeMessage({ kind: Kind.OPEN, origin: hostile as never, doc: 'doc' as DocId, epoch: root.epoch }))
    await waitFor(() => root.stats().served > served, 'the open served')
    // Already sequenced (seq ≠ 0) fragments are not the child's to send.
    await expectCounted(root, push, frag(hostile, 'doc', 1, good, 7), 'dropped', 'a forged sequenced FRAGMENT')
    // Far ahead of its own counter: dropped (and asked to resend from 1).
    await expectCounted(root, push, frag(hostile, 'doc', 40, good), 'dropped', 'a FRAGMENT far ahead of its clientSeq')
    // Patches that do not apply, or are not patches: rejected, one clientSeq after the other.
    const bad: Array<[string, Uint8Array]> = [
      ['a path that does not resolve', patch([{ op: 'replace', path: ['shapes', 'missing', 'x'], value: 1 }])],
      ['a prototype-polluting path', patch([{ op: 'add', path: ['__proto__', 'polluted'], value: true }])],
      ['a constructor path', patch([{ op: 'add', path: ['shapes', 'constructor', 'prototype', 'polluted'], value: true }])],
      ['an unknown op', patch([{ op: 'move', from: ['shapes', 'a'], path: ['shapes', 'b'] }])],
      ['a patch that is not an array', patch({ op: 'add', path: ['shapes', 'z'], value: 1 })],
      ['a payload that is not JSON', enc.encode('not json at all')],
      ['a path of objects', patch([{ op: 'add', path: [{}, 'x'], value: 1 }])],
    ]
    let clientSeq = 1
    for (const [what, payload] of bad) await expectCounted(root, push, frag(hostile, 'doc', clientSeq++, payload), 'rejected', what)
    // The same clientSeq again is a duplicate: answered, not applied, not counted as new.
    const before = root.stats()
    await push.send(frag(hostile, 'doc', 1, good))
    await waitFor(() => root.stats().duplicates > before.duplicates, 'the duplicate recognised')
    expect(root.stats().sequenced).toBe(before.sequenced)

    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(rootDoc.state).toEqual({ shapes: { a: { x: 1 } } })
    expect(rootDoc.seq).toBe(0)
    // The real client is unaffected.
    await clientDoc.change((s) => void (s.shapes.ok = { x: 3 }))!.confirmed
    await waitFor(() => clientDoc.seq === rootDoc.seq, 'the client caught up')
    expect(rootDoc.state).toEqual({ shapes: { a: { x: 1 }, ok: { x: 3 } } })
    expect(clientDoc.state).toEqual(rootDoc.state)
    expect(client.stats().badFrames).toBe(0)
    expect(root.stats().handlerErrors).toBe(0)
  })

  it('a frame over maxMessageBytes is dropped (ZeroMQ cuts the connection) and the next frames still arrive', async () => {
    const { root, rootDoc, clientDoc } = await setup({ maxMessageBytes: 64 * 1024 })
    const push = rawPush(root.addresses.inbound)
    const stranger = newEndpointId()
    const hugePatch = enc.encode(JSON.stringify([{ op: 'add', path: ['shapes', 'huge'], value: { x: 'x'.repeat(128 * 1024) } }]))
    const before: EndpointStats = root.stats()
    await push.send(encodeMessage({ kind: Kind.FRAGMENT, origin: stranger as never, doc: 'doc' as DocId, clientSeq: 1, epoch: root.epoch, payload: hugePatch }))
    await push.send(new Uint8Array(70 * 1024))
    // ZeroMQ drops the connection of a peer that sends an oversize frame, and the PUSH
    // reconnects: a marker sent until it arrives proves the endpoint is still reading.
    const marker = enc.encode('marker: not an envelope')
    await waitFor(async () => {
      await push.send(marker)
      return root.stats().badFrames > before.badFrames
    }, 'a frame after the oversize ones counted')
    const after = root.stats()
    // Neither oversize frame was decoded: no FRAGMENT arrived, and only the marker was a bad frame.
    expect(after.receivedByKind.FRAGMENT ?? 0).toBe(before.receivedByKind.FRAGMENT ?? 0)
    expect(after.dropped).toBe(before.dropped)
    expect(after.rejected).toBe(before.rejected)
    expect(after.sequenced).toBe(before.sequenced)
    expect(rootDoc.state).toEqual({ shapes: { a: { x: 1 } } })
    await clientDoc.change((s) => void (s.shapes.b = { x: 2 }))!.confirmed
    expect(rootDoc.state).toEqual({ shapes: { a: { x: 1 }, b: { x: 2 } } })
  })
})

describe('addresses that do not work', () => {
  it('binding a taken address names it and says it is in use', async () => {
    const root = await res.endpoint()
    const taken = root.addresses.inbound
    const error = await res.endpoint({ bind: { inbound: taken, outbound: 'tcp://127.0.0.1:*' } }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(AddressInUseError)
    expect((error as Error).message).toContain(taken)
    expect((error as Error).message).toMatch(/already in use/)
    // Taken by another socket, not an endpoint, on the outbound side.
    const pull = new Pull({ linger: 0 })
    res.add(() => pull.close())
    await pull.bind('tcp://127.0.0.1:*')
    const error2 = await res.endpoint({ bind: { inbound: 'tcp://127.0.0.1:*', outbound: pull.lastEndpoint! } }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error2).toBeInstanceOf(AddressInUseError)
    expect((error2 as Error).message).toContain(pull.lastEndpoint!)
  })

  it('binding a malformed address names it and the cause', async () => {
    for (const bad of ['tcp://127.0.0.1:notaport', 'tcp://999.1.1.1:*', 'tcp://no-such-interface-zinc:*']) {
      const error = await res.endpoint({ bind: { inbound: bad, outbound: 'tcp://127.0.0.1:*' } }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, bad).toBeInstanceOf(BindError)
      expect((error as Error).message, bad).toContain(`Cannot bind ${bad}: `)
      expect((error as Error).cause, bad).toBeInstanceOf(Error)
      expect((error as Error).message, bad).toContain(((error as Error).cause as Error).message)
    }
    const error = await res.endpoint({ bind: { inbound: 'udp://127.0.0.1:5555', outbound: 'tcp://127.0.0.1:*' } }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(UnsupportedAddressError)
    expect((error as Error).message).toContain('udp://127.0.0.1:5555')
  })

  it('joining a ROUTER/PUB pair that is not a Zinc endpoint fails with JoinTimeoutError naming the address', async () => {
    // A ROUTER, as a Zinc inbound is: a PUSH connects to it as a DEALER.
    const pull = new Router({ linger: 0 })
    const pub = new Publisher({ linger: 0 })
    res.add(() => pull.close())
    res.add(() => pub.close())
    await pull.bind('tcp://127.0.0.1:*')
    await pub.bind('tcp://127.0.0.1:*')
    const join = { inbound: pull.lastEndpoint!, outbound: pub.lastEndpoint! }
    const transport = res.transport()
    const error = await Endpoint.start({ ...ZMQ_FAST, joinTimeoutMs: 1000, transport, bind: LOOPBACK, join }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(JoinTimeoutError)
    expect((error as Error).message).toContain(`at ${join.inbound} within 1000 ms`)
    // The stranger got our HELLOs: it was a real connection, just not a Zinc endpoint.
    const [, hello] = await pull.receive()
    expect(hello!.byteLength).toBeGreaterThan(0)
    // Nothing of the failed endpoint is left open in the transport.
    expect(transport.stats().channelsOpen).toBe(0)
  })
})
