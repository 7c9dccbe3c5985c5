import type { EndpointStats } from '@zinc/core'

/**
 * Prometheus text exposition (format 0.0.4) of `endpoint.stats()`. Hand-written: the format
 * is a few lines of `# HELP`, `# TYPE` and `name{labels} value`, and a client library would
 * add a registry and a dependency for nothing.
 */

/**
 * A latency histogram as core may report it (not measured by core yet). Units: milliseconds.
 * `buckets` are the upper bounds, ascending; `counts[i]` is the number of observations in
 * bucket i alone (not cumulative) — `counts` may have one extra entry for those above the last
 * bound; `count` and `sum` are over every observation.
 */
export interface HistogramSnapshot {
  buckets: number[]
  counts: number[]
  sum: number
  count: number
}

/** What the formatter reads: core's stats, plus fields core may add later. */
export type MetricsInput = EndpointStats & { handlerLatency?: HistogramSnapshot } & Record<string, unknown>

export interface MetricsContext {
  endpoint?: string
  role?: string
  /** Transport counters (e.g. ZmqTransport.stats()), exported as zinc_transport_<name>. */
  transport?: Record<string, number>
  uptimeSeconds?: number
}

interface Def {
  name: string
  type: 'counter' | 'gauge'
  help: string
}

const COUNTERS: Record<string, Def> = {
  sent: { name: 'zinc_messages_sent_total', type: 'counter', help: 'Messages sent on any channel.' },
  received: { name: 'zinc_messages_received_total', type: 'counter', help: 'Messages received and decoded.' },
  badFrames: { name: 'zinc_bad_frames_total', type: 'counter', help: 'Frames that failed decoding or validation and were dropped.' },
  dropped: { name: 'zinc_dropped_total', type: 'counter', help: 'Well-formed messages dropped: unexpected, stranger, stale epoch, unknown document.' },
  handlerErrors: { name: 'zinc_handler_errors_total', type: 'counter', help: 'Message handlers that threw.' },
  hookErrors: { name: 'zinc_hook_errors_total', type: 'counter', help: 'Server hooks (validate, onChange, onLoad, onStore) that threw, rejected or timed out.' },
  resyncs: { name: 'zinc_resyncs_total', type: 'counter', help: 'Catch-up or snapshot requests made after a gap.' },
  sequenced: { name: 'zinc_sequenced_total', type: 'counter', help: 'Fragments sequenced (root only).' },
  rejected: { name: 'zinc_rejected_total', type: 'counter', help: 'Fragments the root refused to sequence.' },
  applied: { name: 'zinc_applied_total', type: 'counter', help: 'Sequenced fragments applied to local replicas.' },
  duplicates: { name: 'zinc_duplicates_total', type: 'counter', help: 'Duplicate fragments recognised and not applied twice.' },
  resent: { name: 'zinc_resent_total', type: 'counter', help: 'Local changes resent for want of an acknowledgement.' },
  served: { name: 'zinc_served_total', type: 'counter', help: 'Catch-up and snapshot requests answered for children.' },
  queueDrops: { name: 'zinc_queue_drops_total', type: 'counter', help: 'Messages dropped because an outbound queue was full.' },
  pending: { name: 'zinc_pending_changes', type: 'gauge', help: 'Local changes not yet sequenced by the root.' },
  queueDepth: { name: 'zinc_queue_depth', type: 'gauge', help: 'Messages waiting in the handler pool.' },
  children: { name: 'zinc_children', type: 'gauge', help: "Children in this endpoint's roster." },
  epoch: { name: 'zinc_epoch', type: 'gauge', help: "The root's current term." },
}

const STRUCTURED = new Set(['docs', 'sentByKind', 'receivedByKind', 'handlerLatency'])

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function labels(l: Record<string, string>): string {
  const entries = Object.entries(l)
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
}

/** A Prometheus number: integers as is, +Inf/-Inf/NaN spelled the Prometheus way. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

/** camelCase → snake_case for metric names of counters this formatter does not know yet. */
function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase()
}

class Writer {
  readonly lines: string[] = []
  header(name: string, type: string, help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`)
  }
  sample(name: string, l: Record<string, string>, value: number): void {
    this.lines.push(`${name}${labels(l)} ${formatNumber(value)}`)
  }
}

/** Formats the stats as Prometheus text. The result ends with a newline, as the format wants. */
export function formatPrometheus(stats: MetricsInput, context: MetricsContext = {}): string {
  const w = new Writer()
  if (context.endpoint !== undefined || context.role !== undefined) {
    w.header('zinc_endpoint_info', 'gauge', 'This endpoint: its id and current role (value always 1).')
    const info: Record<string, string> = {}
    if (context.endpoint !== undefined) info.endpoint = context.endpoint
    if (context.role !== undefined) info.role = context.role
    w.sample('zinc_endpoint_info', info, 1)
  }
  if (context.uptimeSeconds !== undefined) {
    w.header('zinc_uptime_seconds', 'gauge', 'Seconds since this process started the endpoint.')
    w.sample('zinc_uptime_seconds', {}, context.uptimeSeconds)
  }
  for (const [key, def] of Object.entries(COUNTERS)) {
    const v = stats[key]
    if (typeof v !== 'number') continue
    w.header(def.name, def.type, def.help)
    w.sample(def.name, {}, v)
  }
  // Numbers core adds later show up without a formatter change, as untyped samples.
  for (const [key, v] of Object.entries(stats)) {
    if (key in COUNTERS || STRUCTURED.has(key) || typeof v !== 'number') continue
    const name = `zinc_${snake(key)}`
    w.header(name, 'untyped', `endpoint.stats().${key}`)
    w.sample(name, {}, v)
  }
  const byKind: Array<[string, Record<string, number> | undefined]> = [
    ['sent', stats.sentByKind],
    ['received', stats.receivedByKind],
  ]
  if (byKind.some(([, m]) => m && Object.keys(m).length > 0)) {
    w.header('zinc_messages_by_kind_total', 'counter', 'Messages sent and received, by direction and message kind.')
    for (const [direction, m] of byKind) {
      for (const [kind, n] of Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b))) w.sample('zinc_messages_by_kind_total', { direction, kind }, n)
    }
  }
  const docs = Object.entries(stats.docs ?? {})
  w.header('zinc_documents', 'gauge', 'Documents open on this endpoint.')
  w.sample('zinc_documents', {}, docs.length)
  if (docs.length > 0) {
    w.header('zinc_document_seq', 'gauge', 'Head sequence number of each open document.')
    for (const [doc, seq] of docs.sort(([a], [b]) => a.localeCompare(b))) w.sample('zinc_document_seq', { doc }, seq)
  }
  if (stats.handlerLatency) formatHistogram(w, 'zinc_handler_latency_seconds', 'Time spent in message handlers.', stats.handlerLatency, 1000)
  if (context.transport) {
    for (const [key, v] of Object.entries(context.transport)) {
      if (typeof v !== 'number') continue
      const name = `zinc_transport_${snake(key)}`
      const gauge = key === 'channelsOpen'
      w.header(gauge ? name : `${name}_total`, gauge ? 'gauge' : 'counter', `Transport: ${key}.`)
      w.sample(gauge ? name : `${name}_total`, {}, v)
    }
  }
  return w.lines.join('\n') + '\n'
}

/** A histogram's `_bucket` (cumulative, ending with le="+Inf"), `_sum` and `_count` lines. */
function formatHistogram(w: Writer, name: string, help: string, h: HistogramSnapshot, divisor: number): void {
  w.header(name, 'histogram', help)
  let cumulative = 0
  h.buckets.forEach((bound, i) => {
    cumulative += h.counts[i] ?? 0
    w.sample(`${name}_bucket`, { le: formatNumber(bound / divisor) }, cumulative)
  })
  w.sample(`${name}_bucket`, { le: '+Inf' }, h.count)
  w.sample(`${name}_sum`, {}, h.sum / divisor)
  w.sample(`${name}_count`, {}, h.count)
}
