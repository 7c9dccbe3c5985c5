import { decodeFragmentBody, decodeMessage, Kind, kindName, opComponents, type Message } from '@zinc/core'
import { decodeBatch, decodeHeartbeat, decodeRefusal, decodeRoster } from './wire.js'

/** One immer patch as it travels (structurally; the CLI does not depend on immer). */
export interface PatchLike {
  op: string
  path: ReadonlyArray<string | number>
  value?: unknown
}

/**
 * A fragment payload as patch-like phrases: an ot-json1 op's components (`add`, `replace`,
 * `remove`, `move`, `text`), or the immer patches of a fragment from before operations.
 */
export function payloadPatches(payload: Uint8Array): PatchLike[] {
  const body = decodeFragmentBody(payload)
  if (body.patches) return body.patches
  return opComponents(body.op).map((c) => {
    if (c.text !== undefined) return { op: 'text', path: c.path, value: c.text }
    if (c.pick !== undefined) return { op: 'move', path: c.path, value: `from (slot ${c.pick})` }
    if (c.drop !== undefined) return { op: 'move', path: c.path, value: `to (slot ${c.drop})` }
    if (c.insert !== undefined) return { op: c.remove !== undefined ? 'replace' : 'add', path: c.path, value: c.insert }
    return { op: 'remove', path: c.path }
  })
}

/** `value` as compact JSON, cut to `max` characters. */
export function shortValue(value: unknown, max = 40): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** One patch in one phrase: `replace shapes/b17/x=5`, `remove shapes/b17`. */
export function describePatch(patch: PatchLike): string {
  const path = patch.path.length === 0 ? '(root)' : patch.path.join('/')
  return patch.op === 'remove' ? `remove ${path}` : `${patch.op} ${path}=${shortValue(patch.value)}`
}

/** The first `show` patches, then how many more: `replace shapes/b17/s42/x=5 (+2 more)`. */
export function summarizePatches(patches: readonly PatchLike[], show = 1): string {
  if (patches.length === 0) return '(no patches)'
  const shown = patches.slice(0, show).map(describePatch).join(', ')
  const rest = patches.length - show
  return rest > 0 ? `${shown} (+${rest} more)` : shown
}

/** The first 8 hex digits of a UUID, enough to tell endpoints apart in a line. */
export function shortId(id: string): string {
  return id.slice(0, 8)
}

/** What `zinc tail` prints for one message (the `--json` output is this object). */
export interface TailRecord {
  time: string
  /** The PUB topic, trailing NUL of document topics removed. */
  topic: string
  kind: string
  doc: string
  seq: number
  /** For FRAGMENTS: the first seq of the batch (`seq` is the last). */
  seqFrom?: number
  clientSeq: number
  epoch: number
  origin: string
  /** Bytes of the envelope. */
  size: number
  summary: string
}

export interface BadFrameRecord {
  time: string
  topic?: string
  bad: string
}

const MAX_FRAME = 256 * 1024 * 1024

function printableTopic(bytes: Uint8Array | undefined): string {
  if (!bytes) return ''
  return new TextDecoder().decode(bytes).replace(/\u0000$/, '')
}

function summarizeMessage(m: Message): { summary: string; seqFrom?: number; seq?: number } {
  switch (m.kind) {
    case Kind.FRAGMENT:
      return { summary: summarizePatches(payloadPatches(m.payload)) }
    case Kind.FRAGMENTS: {
      const inner = decodeBatch(m.payload).map((b) => decodeMessage(b, MAX_FRAME))
      if (inner.length === 0) return { summary: '0 fragments' }
      const patches = inner.flatMap((f) => payloadPatches(f.payload))
      const first = inner[0]!.seq
      const last = inner[inner.length - 1]!.seq
      return { summary: `${inner.length} fragments: ${summarizePatches(patches)}`, seqFrom: first, seq: last }
    }
    case Kind.HEARTBEAT: {
      if (m.payload.length === 0) return { summary: '' }
      const hb = decodeHeartbeat(m.payload)
      const heads = hb.heads.slice(0, 3).map((h) => `${h.doc}@${h.seq}`)
      if (hb.heads.length > 3) heads.push(`(+${hb.heads.length - 3} more)`)
      return { summary: `heads ${heads.join(' ') || '(none)'}, roster v${hb.rosterVersion}, ${hb.ancestors.length} ancestors` }
    }
    case Kind.ROSTER: {
      const r = decodeRoster(m.payload)
      const members = r.members.map((p) => `${shortId(p.id)}${p.priority ? `(prio ${p.priority})` : ''}`)
      return { summary: `v${r.version}: ${r.members.length} member${r.members.length === 1 ? '' : 's'}${members.length ? ' ' + members.join(' ') : ''}` }
    }
    case Kind.REFUSE:
    case Kind.REJECT: {
      const r = decodeRefusal(m.payload)
      return { summary: `${r.code}: ${r.reason}` }
    }
    case Kind.PRESENCE:
      return { summary: m.payload.length === 0 ? 'gone' : shortValue(JSON.parse(new TextDecoder().decode(m.payload))) }
    case Kind.APP:
      return { summary: `app=${m.appKind} ${m.payload.length}B` }
    case Kind.SNAPSHOT:
      return { summary: `state at seq ${m.seq}` }
    case Kind.ACK:
    case Kind.RESEND:
      return { summary: `clientSeq ${m.clientSeq}` }
    default:
      return { summary: '' }
  }
}

/**
 * Decodes one PUB/SUB message (`[topic, body]`) into what `zinc tail` prints. Never throws:
 * anything malformed comes back as a `BadFrameRecord` with the reason.
 */
export function describeFrames(frames: readonly Uint8Array[], now = new Date()): TailRecord | BadFrameRecord {
  const time = now.toISOString()
  if (frames.length !== 2) return { time, bad: `expected 2 frames [topic, body], got ${frames.length}` }
  const topic = printableTopic(frames[0])
  const body = frames[1]!
  let m: Message
  try {
    m = decodeMessage(body, MAX_FRAME)
  } catch (error) {
    return { time, topic, bad: reasonOf(error) }
  }
  let summary: ReturnType<typeof summarizeMessage>
  try {
    summary = summarizeMessage(m)
  } catch (error) {
    summary = { summary: `bad payload: ${reasonOf(error)}` }
  }
  const record: TailRecord = {
    time,
    topic,
    kind: kindName(m.kind),
    doc: m.doc,
    seq: summary.seq ?? m.seq,
    clientSeq: m.clientSeq,
    epoch: m.epoch,
    origin: m.origin,
    size: body.byteLength,
    summary: summary.summary,
  }
  if (summary.seqFrom !== undefined) record.seqFrom = summary.seqFrom
  return record
}

function reasonOf(error: unknown): string {
  if (error && typeof error === 'object' && 'reason' in error && typeof error.reason === 'string') return error.reason
  return error instanceof Error ? error.message : String(error)
}

function clock(iso: string): string {
  const d = new Date(iso)
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** The human line of `zinc tail`: time, topic, kind, doc, seq, origin, size, summary. */
export function formatTailLine(record: TailRecord | BadFrameRecord): string {
  if ('bad' in record) return `${clock(record.time)} ${record.topic ?? '-'} bad frame: ${record.bad}`
  const seq = record.seqFrom !== undefined && record.seqFrom !== record.seq ? `${record.seqFrom}..${record.seq}` : String(record.seq)
  const parts = [clock(record.time), record.topic, record.kind, `doc=${record.doc || '-'}`, `seq=${seq}`, `origin=${shortId(record.origin)}`, `${record.size}B`]
  if (record.summary) parts.push(record.summary)
  return parts.join(' ')
}
