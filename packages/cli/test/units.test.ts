import { describe, expect, it } from 'vitest'
import { encodeMessage, encodePatches, Kind, newEndpointId } from '@zinc/core'
import {
  CliError,
  curveOptions,
  describeFrames,
  escapeLabel,
  formatLogLine,
  formatPrometheus,
  formatTailLine,
  parseAddress,
  parseAddressPair,
  parseStatsTarget,
  summarizePatches,
  type MetricsInput,
  type TailRecord,
} from '../src/index.js'

describe('addresses', () => {
  it('accepts ZeroMQ addresses as they are', () => {
    expect(parseAddress('tcp://10.0.0.5:7000')).toBe('tcp://10.0.0.5:7000')
    expect(parseAddress('ipc:///tmp/zinc.sock')).toBe('ipc:///tmp/zinc.sock')
    expect(parseAddress('tcp://[::1]:7000')).toBe('tcp://[::1]:7000')
    expect(parseAddress('tcp://*:7000', 'bind')).toBe('tcp://*:7000')
    expect(parseAddress('inproc://x', 'bind')).toBe('inproc://x')
  })

  it('expands the shorthands', () => {
    expect(parseAddress('localhost:7001')).toBe('tcp://localhost:7001')
    expect(parseAddress(' 7001 ')).toBe('tcp://127.0.0.1:7001')
    expect(parseAddress('0.0.0.0:*', 'bind')).toBe('tcp://0.0.0.0:*')
  })

  it('explains what is wrong', () => {
    expect(() => parseAddress('foo')).toThrow(CliError)
    expect(() => parseAddress('foo')).toThrow(/Use tcp:\/\/HOST:PORT/)
    expect(() => parseAddress('tcp://host')).toThrow(/tcp:\/\/HOST:PORT/)
    expect(() => parseAddress('tcp://host:0')).toThrow(/outside 1-65535/)
    expect(() => parseAddress('tcp://host:http')).toThrow(/not a number/)
    expect(() => parseAddress('tcp://host:*')).toThrow(/wildcard port \* can only be bound/)
    expect(() => parseAddress('ws://host:80')).toThrow(/ws:\/\/ is not supported/)
    expect(() => parseAddress('inproc://x')).toThrow(/only reaches sockets inside one process/)
    expect(() => parseAddress('7000', 'bind')).toThrow(/give the interface too/)
    expect(() => parseAddress('')).toThrow(/empty/)
  })

  it('parses inbound,outbound pairs with a bare outbound port', () => {
    expect(parseAddressPair('tcp://0.0.0.0:7000,7001', 'bind')).toEqual({ inbound: 'tcp://0.0.0.0:7000', outbound: 'tcp://0.0.0.0:7001' })
    expect(parseAddressPair('localhost:7000,7001', 'connect')).toEqual({ inbound: 'tcp://localhost:7000', outbound: 'tcp://localhost:7001' })
    expect(parseAddressPair('tcp://127.0.0.1:*,tcp://127.0.0.1:*', 'bind')).toEqual({ inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' })
    expect(parseAddressPair('127.0.0.1:*,*', 'bind')).toEqual({ inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' })
    expect(parseAddressPair('tcp://127.0.0.1:*', 'bind')).toEqual({ inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' })
    expect(parseAddressPair('ipc:///tmp/a, ipc:///tmp/b', 'bind')).toEqual({ inbound: 'ipc:///tmp/a', outbound: 'ipc:///tmp/b' })
    expect(parseAddressPair('tcp://[::1]:7000,7001', 'connect')).toEqual({ inbound: 'tcp://[::1]:7000', outbound: 'tcp://[::1]:7001' })
  })

  it('refuses incomplete or ambiguous pairs', () => {
    expect(() => parseAddressPair('tcp://127.0.0.1:7000', 'bind')).toThrow(/--bind needs an inbound and an outbound address/)
    expect(() => parseAddressPair('a:1,b:2,c:3', 'connect')).toThrow(/--join takes two addresses/)
    expect(() => parseAddressPair('tcp://h:7000,', 'bind')).toThrow(/INBOUND,OUTBOUND/)
    expect(() => parseAddressPair('tcp://h:7000,7000', 'bind')).toThrow(/must differ/)
    expect(() => parseAddressPair('ipc:///tmp/a,7001', 'bind')).toThrow(/bare port/)
    expect(() => parseAddressPair('tcp://h:7000,70000', 'bind')).toThrow(/outside 1-65535/)
  })

  it('tells stats servers from PUB addresses', () => {
    expect(parseStatsTarget('http://127.0.0.1:9464/')).toEqual({ kind: 'http', url: 'http://127.0.0.1:9464' })
    expect(parseStatsTarget('tcp://127.0.0.1:7001')).toEqual({ kind: 'pub', address: 'tcp://127.0.0.1:7001' })
    expect(parseStatsTarget('7001')).toEqual({ kind: 'pub', address: 'tcp://127.0.0.1:7001' })
  })
})

describe('CURVE flags', () => {
  const pair = { curvePublic: 'p'.repeat(40), curveSecret: 's'.repeat(40) }
  it('makes a server from a key pair, with the allow-list', () => {
    expect(curveOptions({ ...pair, allowKey: ['a'.repeat(40)] }, { bind: true, connect: false })).toEqual({
      server: { publicKey: pair.curvePublic, secretKey: pair.curveSecret, allowedClientKeys: ['a'.repeat(40)] },
    })
    expect(curveOptions({}, { bind: true, connect: true })).toBeUndefined()
  })
  it('makes a client from --server-key, with an ephemeral pair when allowed', () => {
    const ephemeral = { publicKey: 'e'.repeat(40), secretKey: 'f'.repeat(40) }
    expect(curveOptions({ serverKey: 'k'.repeat(40) }, { bind: false, connect: true, ephemeralClient: () => ephemeral })).toEqual({
      client: { ...ephemeral, serverPublicKey: 'k'.repeat(40) },
    })
    expect(() => curveOptions({ serverKey: 'k'.repeat(40) }, { bind: true, connect: true })).toThrow(/--curve-secret and --curve-public/)
  })
  it('refuses half a pair and an allow-list without keys', () => {
    expect(() => curveOptions({ curveSecret: 's'.repeat(40) }, { bind: true, connect: false })).toThrow(/together/)
    expect(() => curveOptions({ allowKey: ['a'.repeat(40)] }, { bind: true, connect: false })).toThrow(/--allow-key needs CURVE/)
  })
})

describe('patch summary', () => {
  it('shows the first patch and how many more', () => {
    expect(
      summarizePatches([
        { op: 'replace', path: ['shapes', 'b17', 's42', 'x'], value: 5 },
        { op: 'replace', path: ['shapes', 'b17', 's42', 'y'], value: 6 },
        { op: 'remove', path: ['shapes', 'b17', 's43'] },
      ]),
    ).toBe('replace shapes/b17/s42/x=5 (+2 more)')
    expect(summarizePatches([{ op: 'remove', path: ['items', 3] }])).toBe('remove items/3')
    expect(summarizePatches([{ op: 'replace', path: [], value: {} }])).toBe('replace (root)={}')
    expect(summarizePatches([])).toBe('(no patches)')
    expect(
      summarizePatches(
        [
          { op: 'add', path: ['a'], value: 1 },
          { op: 'add', path: ['b'], value: 2 },
        ],
        2,
      ),
    ).toBe('add a=1, add b=2')
  })

  it('cuts long values', () => {
    const s = summarizePatches([{ op: 'add', path: ['text'], value: 'x'.repeat(100) }])
    expect(s.length).toBeLessThan(60)
    expect(s.endsWith('…')).toBe(true)
  })
})

/** Hand-encodes `Batch { repeated bytes envelopes = 1 }`. */
function batch(envelopes: Uint8Array[]): Uint8Array {
  const parts: number[] = []
  for (const e of envelopes) {
    parts.push(0x0a)
    let n = e.length
    while (n >= 0x80) {
      parts.push((n & 0x7f) | 0x80)
      n >>>= 7
    }
    parts.push(n, ...e)
  }
  return new Uint8Array(parts)
}

describe('tail lines', () => {
  const origin = newEndpointId()
  const topic = new TextEncoder().encode('d/board-1\u0000')
  const when = new Date(2026, 0, 2, 3, 4, 5, 6)

  it('decodes a sequenced FRAGMENT', () => {
    const body = encodeMessage({ kind: Kind.FRAGMENT, origin, doc: 'board-1', seq: 7, clientSeq: 3, epoch: 1, payload: encodePatches([{ op: 'replace', path: ['a', 'x'], value: 5 }]) })
    const record = describeFrames([topic, body], when) as TailRecord
    expect(record).toMatchObject({ topic: 'd/board-1', kind: 'FRAGMENT', doc: 'board-1', seq: 7, clientSeq: 3, origin, size: body.byteLength, summary: 'replace a/x=5' })
    expect(formatTailLine(record)).toBe(`03:04:05.006 d/board-1 FRAGMENT doc=board-1 seq=7 origin=${origin.slice(0, 8)} ${body.byteLength}B replace a/x=5`)
  })

  it('summarizes a FRAGMENTS batch with its seq range', () => {
    const frag = (seq: number, value: number) =>
      encodeMessage({ kind: Kind.FRAGMENT, origin, doc: 'board-1', seq, clientSeq: seq, epoch: 1, payload: encodePatches([{ op: 'add', path: ['k', String(seq)], value }]) })
    const body = encodeMessage({ kind: Kind.FRAGMENTS, origin, doc: 'board-1', epoch: 1, payload: batch([frag(4, 40), frag(5, 50), frag(6, 60)]) })
    const record = describeFrames([topic, body], when) as TailRecord
    expect(record).toMatchObject({ kind: 'FRAGMENTS', seqFrom: 4, seq: 6, summary: '3 fragments: add k/4=40 (+2 more)' })
    expect(formatTailLine(record)).toContain('FRAGMENTS doc=board-1 seq=4..6 ')
  })

  it('turns malformed input into bad-frame records, never throws', () => {
    expect(describeFrames([topic, new Uint8Array([0xff, 0xff])], when)).toMatchObject({ topic: 'd/board-1', bad: expect.any(String) })
    expect(describeFrames([topic], when)).toMatchObject({ bad: 'expected 2 frames [topic, body], got 1' })
    expect(formatTailLine(describeFrames([topic], when))).toBe('03:04:05.006 - bad frame: expected 2 frames [topic, body], got 1')
    const badPatches = encodeMessage({ kind: Kind.FRAGMENT, origin, doc: 'board-1', seq: 1, clientSeq: 1, epoch: 1, payload: new TextEncoder().encode('{"not":"a list"}') })
    expect((describeFrames([topic, badPatches], when) as TailRecord).summary).toMatch(/^bad payload: /)
  })
})

describe('Prometheus text', () => {
  const stats = {
    sent: 10,
    received: 20,
    badFrames: 1,
    dropped: 2,
    handlerErrors: 0,
    resyncs: 3,
    sequenced: 4,
    rejected: 0,
    applied: 4,
    duplicates: 0,
    resent: 0,
    served: 1,
    queueDrops: 0,
    pending: 0,
    queueDepth: 5,
    children: 2,
    epoch: 1,
    docs: { 'board-1': 4, 'we"ird\\doc\n': 1 },
    sentByKind: { HEARTBEAT: 8, FRAGMENT: 2 },
    receivedByKind: { FRAGMENT: 4 },
  } as MetricsInput

  it('exposes counters, per-kind counters and gauges', () => {
    const text = formatPrometheus(stats, { endpoint: 'abc', role: 'host' })
    expect(text.endsWith('\n')).toBe(true)
    expect(text).toContain('# TYPE zinc_messages_sent_total counter\nzinc_messages_sent_total 10\n')
    expect(text).toContain('zinc_bad_frames_total 1\n')
    expect(text).toContain('zinc_resyncs_total 3\n')
    expect(text).toContain('# TYPE zinc_queue_depth gauge\nzinc_queue_depth 5\n')
    expect(text).toContain('zinc_children 2\n')
    expect(text).toContain('zinc_endpoint_info{endpoint="abc",role="host"} 1\n')
    expect(text).toContain('zinc_messages_by_kind_total{direction="sent",kind="FRAGMENT"} 2\n')
    expect(text).toContain('zinc_messages_by_kind_total{direction="received",kind="FRAGMENT"} 4\n')
    expect(text).toContain('zinc_document_seq{doc="board-1"} 4\n')
    expect(text).toContain('zinc_document_seq{doc="we\\"ird\\\\doc\\n"} 1\n')
    expect(text).toContain('zinc_documents 2\n')
    expect(text).not.toContain('histogram')
    // Every sample has a TYPE line before it, and no metric is declared twice.
    const types = text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2])
    expect(new Set(types).size).toBe(types.length)
  })

  it('passes through counters core adds later', () => {
    expect(formatPrometheus({ ...stats, snapshotsWritten: 7 })).toContain('# TYPE zinc_snapshots_written untyped\nzinc_snapshots_written 7\n')
  })

  it('formats a handler-latency histogram (ms in, seconds out, cumulative buckets)', () => {
    const text = formatPrometheus({ ...stats, handlerLatency: { buckets: [1, 5, 25], counts: [3, 2, 0, 1], sum: 40, count: 6 } })
    expect(text).toContain(
      [
        '# TYPE zinc_handler_latency_seconds histogram',
        'zinc_handler_latency_seconds_bucket{le="0.001"} 3',
        'zinc_handler_latency_seconds_bucket{le="0.005"} 5',
        'zinc_handler_latency_seconds_bucket{le="0.025"} 5',
        'zinc_handler_latency_seconds_bucket{le="+Inf"} 6',
        'zinc_handler_latency_seconds_sum 0.04',
        'zinc_handler_latency_seconds_count 6',
      ].join('\n'),
    )
  })

  it('escapes label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd')
  })
})

describe('log lines for people', () => {
  it('puts level, role, endpoint and message first, fields after', () => {
    const line = formatLogLine(JSON.stringify({ level: 40, time: new Date(2026, 0, 1, 12, 0, 1, 234).getTime(), role: 'host', endpoint: '1a2b3c4d-0000', child: 'x y', n: 3, msg: 'child removed' }))
    expect(line).toBe('12:00:01.234 WARN  [host 1a2b3c4d] child removed child="x y" n=3\n')
    expect(formatLogLine('not json')).toBe('not json\n')
  })
})
