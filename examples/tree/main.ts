/**
 * A Zinc tree across processes over loopback tcp: a root, two relays that join it, and two
 * leaves under each relay — seven `node` processes running `member.js`. Every leaf edits the
 * shared document at once; every process prints what it sees. When every replica (relays
 * included) equals the root's, the launcher prints a summary and stops everything (SIGTERM:
 * each process closes its endpoint and transport, then exits).
 *
 *   npm run build && node examples/dist/tree/main.js [--changes 10]
 *
 *               root
 *            /        \
 *       relay-a      relay-b
 *       /    \        /    \
 *     a1      a2    b1      b2
 */
import { parseArgs } from 'node:util'
import { Member } from './launch.js'

const { values: args } = parseArgs({ options: { changes: { type: 'string', default: '10' } } })
const changes = Number(args.changes)

const everyone: Member[] = []
const start = (name: string, join?: Member) => {
  const member = new Member(name, join ? ['--join', JSON.stringify(join.addresses)] : [])
  everyone.push(member)
  return member
}

try {
  const root = start('root')
  await root.ready
  const relays = [start('relay-a', root), start('relay-b', root)]
  await Promise.all(relays.map((r) => r.ready))
  const leaves = relays.flatMap((relay) => [1, 2].map((i) => start(`${relay.name.slice(-1)}${i}`, relay)))
  await Promise.all(leaves.map((l) => l.ready))
  console.log(`a root, 2 relays and 4 leaves joined over tcp; every leaf makes ${changes} changes at once`)

  const started = Date.now()
  leaves.forEach((leaf) => leaf.send(`go ${changes} 20`))
  await Promise.all(leaves.map((leaf) => leaf.next('synced')))
  // Every change is sequenced now, so the root's seq is final: every replica reports once it has reached it.
  root.send('report')
  const final = await root.next('report')
  const others = [...relays, ...leaves]
  others.forEach((m) => m.send(`report ${final.seq}`))
  const reports = await Promise.all(others.map((m) => m.next('report')))
  const ms = Date.now() - started

  const tokens: string[] = final.state.tokens
  const converged = reports.every((r) => r.hash === final.hash)
  const once = new Set(tokens).size === tokens.length && tokens.length === leaves.length * changes
  console.log('')
  console.log(`root     ${final.role.padEnd(6)} seq ${final.seq}, ${tokens.length} tokens, state ${final.hash}`)
  for (const r of reports) console.log(`${r.name.padEnd(8)} ${r.role.padEnd(6)} seq ${r.seq}, state ${r.hash} ${r.hash === final.hash ? '= root' : '≠ ROOT'}`)
  console.log(`every replica converged: ${converged}; every token present exactly once: ${once} (${leaves.length * changes} changes in ${ms} ms)`)
  process.exitCode = converged && once ? 0 : 1
} catch (error) {
  console.error('tree failed:', error)
  process.exitCode = 1
} finally {
  await Promise.all(everyone.map((m) => m.stop()))
  console.log('every process stopped')
}
