import type { StatsSnapshot } from './stats-server.js'
import { shortId } from './format.js'
import type { WireHeartbeat, WireRoster } from './wire.js'

/** What `zinc stats tcp://…` learns from a node's PUB without any server: heartbeats and roster. */
export interface HeartbeatView {
  source: string
  endpoint: string
  epoch: number
  rosterVersion: number
  heads: WireHeartbeat['heads']
  ancestors: WireHeartbeat['ancestors']
  /** The last ROSTER seen while listening (it is published only when it changes). */
  roster?: WireRoster
}

const COUNTERS = ['sent', 'received', 'badFrames', 'dropped', 'handlerErrors', 'resyncs', 'sequenced', 'rejected', 'applied', 'duplicates', 'resent', 'served', 'queueDrops']
const GAUGES = ['pending', 'queueDepth', 'children', 'epoch']

function row(label: string, value: string): string {
  return `${label.padEnd(10)} ${value}`
}

function pairs(o: Record<string, unknown>, keys: string[]): string {
  return keys
    .filter((k) => typeof o[k] === 'number')
    .map((k) => `${k} ${String(o[k])}`)
    .join('  ')
}

function byKind(m: Record<string, number> | undefined): string {
  const e = Object.entries(m ?? {}).sort(([, a], [, b]) => b - a)
  return e.length ? e.map(([k, n]) => `${k} ${n}`).join(', ') : '-'
}

/** The human view of a stats server's snapshot. */
export function formatStatsText(s: StatsSnapshot): string {
  const stats = s.stats as unknown as Record<string, unknown>
  const extra = Object.keys(stats).filter((k) => typeof stats[k] === 'number' && !COUNTERS.includes(k) && !GAUGES.includes(k))
  const docs = Object.entries(s.stats.docs ?? {})
  const lines = [row('endpoint', `${s.endpoint}  ${s.role}  epoch ${s.epoch}  up ${s.uptimeSeconds}s`), row('addresses', `inbound ${s.addresses.inbound}  outbound ${s.addresses.outbound}`)]
  if (s.parent) lines.push(row('parent', `${s.parent.inbound},${s.parent.outbound}`))
  if (s.shards) {
    const sh = s.shards
    if (s.role === 'relay') lines.push(row('shards', `relays all ${sh.count} (one endpoint per shard, each under that shard's root)`))
    else
      lines.push(
        row('shards', `leads ${sh.led.length} of ${sh.count}: ${sh.led.join(', ') || '-'}  (assigned ${sh.assigned.join(', ') || '-'})  hosts ${sh.hosts.length}: ${sh.hosts.map(shortId).join(', ')}`),
      )
    for (const e of sh.endpoints) lines.push(`  shard ${String(e.shard).padStart(3)}  ${e.role.padEnd(6)}  epoch ${e.epoch}  docs ${e.docs}  ${e.addresses.inbound},${e.addresses.outbound}`)
  }
  lines.push(row('counters', pairs(stats, [...COUNTERS, ...extra])))
  lines.push(row('gauges', pairs(stats, GAUGES)))
  lines.push(row('documents', docs.length ? docs.map(([d, seq]) => `${d}@${seq}`).join('  ') : '-'))
  lines.push(row('sent', byKind(s.stats.sentByKind)))
  lines.push(row('received', byKind(s.stats.receivedByKind)))
  if (s.transport) lines.push(row('transport', pairs(s.transport, Object.keys(s.transport))))
  lines.push(row('peers', s.peers.length ? '' : '-'))
  for (const p of s.peers) {
    const where = p.addresses ? `${p.addresses.inbound},${p.addresses.outbound}` : '(leaf)'
    lines.push(`  ${shortId(p.id)}  join #${p.joinOrder}  priority ${p.priority}  ${where}`)
  }
  return lines.join('\n')
}

/** The human view of what heartbeats told. */
export function formatHeartbeatText(v: HeartbeatView): string {
  const lines = [
    row('endpoint', `${v.endpoint}  epoch ${v.epoch}  (from heartbeats on ${v.source})`),
    row('documents', v.heads.length ? v.heads.map((h) => `${h.doc}@${h.seq}`).join('  ') : '-'),
    row('roster', `v${v.rosterVersion}${v.roster ? '' : '  (members are published when the roster changes; none seen while listening)'}`),
  ]
  for (const m of v.roster?.members ?? []) lines.push(`  ${shortId(m.id)}  join #${m.joinOrder}  priority ${m.priority}  ${m.inbound ? `${m.inbound},${m.outbound}` : '(leaf)'}`)
  lines.push(row('ancestors', v.ancestors.length ? v.ancestors.map((a) => `${shortId(a.id)} ${a.inbound},${a.outbound}`).join('  ') : '- (root)'))
  lines.push('counters: run the node with --stats-port N and use zinc stats http://127.0.0.1:N')
  return lines.join('\n')
}
