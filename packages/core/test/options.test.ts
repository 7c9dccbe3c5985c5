import { describe, expect, it } from 'vitest'
import { DEFAULTS, resolveOptions, type EndpointOptions } from '../dist/endpoint/options.js'
import { InvalidArgumentError } from '../dist/errors.js'
import type { Transport } from '../dist/transport.js'

const unused = () => Promise.reject(new Error('not used in these tests'))
function fakeTransport(canBind = true): Transport {
  return { name: 'fake', canBind, pull: unused, pub: unused, push: unused, sub: unused } as Transport
}
const bind = { inbound: 'inproc://in', outbound: 'inproc://out' }
const join = { inbound: 'inproc://parent-in', outbound: 'inproc://parent-out' }

function expectInvalid(options: unknown, message?: RegExp): void {
  let caught: unknown
  try {
    resolveOptions(options as EndpointOptions)
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected an InvalidArgumentError').toBeInstanceOf(InvalidArgumentError)
  if (message) expect((caught as Error).message).toMatch(message)
}

describe('resolveOptions', () => {
  it('applies every default to a minimal root', () => {
    const transport = fakeTransport()
    const r = resolveOptions({ transport, bind })
    expect(r).toMatchObject({ ...DEFAULTS, token: '', transport, bind })
    expect(r.join).toBeUndefined()
    expect(typeof r.logger.info).toBe('function')
  })

  it('keeps given values, and treats undefined as not given', () => {
    const r = resolveOptions({
      transport: fakeTransport(),
      join,
      heartbeatMs: 100,
      peerTimeoutMs: 500,
      concurrency: 2,
      queueLimit: 3,
      logLimit: 4,
      token: 't',
      priority: -5,
      maxMessageBytes: undefined,
    })
    expect(r).toMatchObject({ heartbeatMs: 100, peerTimeoutMs: 500, concurrency: 2, queueLimit: 3, logLimit: 4, token: 't', priority: -5, maxMessageBytes: DEFAULTS.maxMessageBytes })
  })

  it.each([
    { perSecond: 0, burst: 1, queue: 0 },
    { perSecond: 10, burst: 0, queue: 0 },
    { perSecond: 10, burst: 1, queue: -1 },
  ])('refuses joinLimit %j, saying what a valid one looks like', (joinLimit) => {
    expectInvalid({ transport: fakeTransport(), bind, joinLimit }, /joinLimit must be/)
  })

  it('has sane defaults', () => {
    expect(DEFAULTS.peerTimeoutMs).toBeGreaterThan(DEFAULTS.heartbeatMs)
    // Numbers, or (joinLimit) objects of numbers.
    for (const v of Object.values(DEFAULTS)) expect(typeof v === 'object' ? Object.values(v).every((n) => Number.isFinite(n)) : Number.isFinite(v)).toBe(true)
  })

  it.each([undefined, null, 42, 'x'])('needs an options object, not %j', (options) => {
    expectInvalid(options, /options object/)
  })

  it.each([
    ['no transport', {}],
    ['a null transport', { transport: null }],
    ['a transport without pull()', { transport: { name: 'x', canBind: true } }],
  ])('errors for %s', (_what, extra) => {
    expectInvalid({ bind, ...extra }, /transport/)
  })

  it.each([
    ['a string', 'inproc://x'],
    ['a missing outbound', { inbound: 'inproc://a' }],
    ['a missing inbound', { outbound: 'inproc://b' }],
    ['an empty inbound', { inbound: '', outbound: 'inproc://b' }],
    ['an empty outbound', { inbound: 'inproc://a', outbound: '' }],
    ['a numeric address', { inbound: 1, outbound: 'inproc://b' }],
  ])('errors for bad addresses: %s', (_what, addresses) => {
    expectInvalid({ transport: fakeTransport(), bind: addresses }, /`bind` must be/)
    expectInvalid({ transport: fakeTransport(), bind, join: addresses }, /`join` must be/)
  })

  // BUG (reported): src/endpoint/options.ts checkAddresses() (line ~110) lets null through its
  // `typeof a !== 'object'` test (typeof null is 'object') and then reads a.inbound: a TypeError
  // "Cannot read properties of null" instead of the InvalidArgumentError with its hint.
  it('errors for a null bind or join with InvalidArgumentError', () => {
    expectInvalid({ transport: fakeTransport(), bind: null, join }, /`bind` must be/)
    expectInvalid({ transport: fakeTransport(), bind, join: null }, /`join` must be/)
  })

  it('needs bind, join or both', () => {
    expectInvalid({ transport: fakeTransport() }, /`bind`.*`join`/)
    expect(() => resolveOptions({ transport: fakeTransport(), join })).not.toThrow()
    expect(() => resolveOptions({ transport: fakeTransport(), bind, join })).not.toThrow()
  })

  it('refuses bind on a transport that cannot bind, but allows a leaf', () => {
    expectInvalid({ transport: fakeTransport(false), bind, join }, /cannot bind/)
    expect(() => resolveOptions({ transport: fakeTransport(false), join })).not.toThrow()
  })

  const numeric = ['heartbeatMs', 'peerTimeoutMs', 'joinTimeoutMs', 'maxMessageBytes', 'concurrency', 'queueLimit', 'logLimit', 'resendMs', 'undoLimit'] as const
  for (const key of numeric) {
    it.each([0, -1, Number.NaN, '10', null])(`${key} must be a positive number, not %j`, (value) => {
      // keep peerTimeoutMs > heartbeatMs valid when the other one is the one under test
      const base = key === 'heartbeatMs' ? { peerTimeoutMs: 1e9 } : {}
      expectInvalid({ transport: fakeTransport(), bind, ...base, [key]: value }, new RegExp(`${key} must be a positive number`))
    })
  }

  it.each([
    [250, 250],
    [100, 250],
    [999, 1000],
  ])('errors when peerTimeoutMs (%i) is not above heartbeatMs (%i)', (peerTimeoutMs, heartbeatMs) => {
    expectInvalid({ transport: fakeTransport(), bind, peerTimeoutMs, heartbeatMs }, /peerTimeoutMs .* must be larger than heartbeatMs/)
  })

  it('accessCacheMs takes 0 (relays ask for every open) and up, nothing else', () => {
    expect(resolveOptions({ transport: fakeTransport(), bind }).accessCacheMs).toBe(5_000)
    expect(resolveOptions({ transport: fakeTransport(), bind, accessCacheMs: 0 }).accessCacheMs).toBe(0)
    for (const accessCacheMs of [-1, Number.NaN, Infinity, '5' as unknown as number]) expectInvalid({ transport: fakeTransport(), bind, accessCacheMs }, /accessCacheMs/)
  })

  it('checks peerTimeoutMs against the default heartbeatMs too', () => {
    expectInvalid({ transport: fakeTransport(), bind, peerTimeoutMs: DEFAULTS.heartbeatMs }, /must be larger than heartbeatMs/)
    expect(resolveOptions({ transport: fakeTransport(), bind, peerTimeoutMs: DEFAULTS.heartbeatMs + 1 }).peerTimeoutMs).toBe(DEFAULTS.heartbeatMs + 1)
  })
})
