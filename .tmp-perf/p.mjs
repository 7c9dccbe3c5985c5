import { Endpoint } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
const N = Number(process.env.N ?? 4), C = Number(process.env.C ?? 200)
const network = new InprocNetwork({ seed: 1 })
const make = async (name, join) => Endpoint.start({ heartbeatMs: 100, peerTimeoutMs: 5000, transport: new InprocTransport(network, { node: name }), bind: { inbound: network.uniqueAddress(name + '-in'), outbound: network.uniqueAddress(name + '-out') }, ...(join ? { join: join.addresses } : {}) })
const host = await make('h')
const clients = []; for (let i = 0; i < N; i++) clients.push(await make('c' + i, host))
const hd = await host.open('d', { initial: { tokens: [], keys: {} } })
const docs = await Promise.all(clients.map((c) => c.open('d')))
const t0 = performance.now()
await Promise.all(docs.map(async (d, k) => { for (let i = 0; i < C; i++) { d.change((s) => { s.tokens.push(`c${k}#${i}`); s.keys['k' + (i % 5)] = `c${k}#${i}` }); if (i % 10 === 0) await new Promise((r) => setImmediate(r)) } await d.synced() }))
console.log('transforms', globalThis.__tc, 'synced all in', Math.round(performance.now() - t0), 'ms; tokens', hd.state.tokens.length)
await Promise.all([host, ...clients].map((e) => e.close()))
