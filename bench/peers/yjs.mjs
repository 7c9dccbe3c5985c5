// Yjs + Hocuspocus as a peer system (issue 17): a Hocuspocus server (no persistence extension)
// in the server process, one HocuspocusProvider with its own WebSocket per client. The change is
// a shape set into the shared Y.Map `shapes`; an acknowledgement is Hocuspocus's sync-status
// answer to each update (the provider's `unsyncedChanges` counter).
import { Server } from '@hocuspocus/server'
import { HocuspocusProvider } from '@hocuspocus/provider'
import * as Y from 'yjs'
import WebSocket from 'ws'

export async function startServer() {
  const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: false })
  await server.listen()
  const held = []
  return {
    info: { url: `ws://127.0.0.1:${server.address.port}` },
    /** Loads `name` on the server and fills it with `shapes`; it stays loaded (held open). */
    async seed(name, shapes) {
      const conn = await server.hocuspocus.openDirectConnection(name)
      await conn.transact((doc) => {
        const map = doc.getMap('shapes')
        for (const [k, v] of Object.entries(shapes)) map.set(k, v)
      })
      held.push(conn)
    },
    async close() {
      await Promise.allSettled(held.map((c) => c.disconnect()))
      await server.destroy()
    },
  }
}

function connect(url, name) {
  const document = new Y.Doc()
  const provider = new HocuspocusProvider({ url, name, document, WebSocketPolyfill: WebSocket })
  const synced = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Hocuspocus: ${name} not synced after 120 s`)), 120_000)
    provider.on('synced', () => (clearTimeout(timer), resolve()))
  })
  return { document, provider, synced }
}

/** A client process: `count` providers, each with its own WebSocket. */
export async function startClients({ info, count }) {
  const open = []
  return {
    async open(name) {
      const cs = Array.from({ length: count }, () => connect(info.url, name))
      await Promise.all(cs.map((c) => c.synced))
      open.push(...cs)
      return cs.map(docHandle)
    },
    async lateJoin(name) {
      const c = connect(info.url, name)
      await c.synced
      const n = c.document.getMap('shapes').size
      c.provider.destroy()
      c.document.destroy()
      return n
    },
    async close() {
      for (const c of open) c.provider.destroy()
    },
  }
}

function docHandle({ document, provider }) {
  const map = document.getMap('shapes')
  let waiters = []
  provider.on('unsyncedChanges', () => {
    const w = waiters
    waiters = []
    for (const r of w) r()
  })
  return {
    set(key, shape) {
      map.set(key, shape)
    },
    pending: () => provider.unsyncedChanges,
    ack: () => new Promise((r) => waiters.push(r)),
    /** cb(n, times) for every transaction of n changes from other clients; times (µs, the latest shape of each key) only if asked. */
    onRemote(cb, { times = false } = {}) {
      map.observe((event, txn) => {
        if (txn.local) return
        // Changes received: the items this transaction integrated (one per map.set), not the
        // keys it changed (an update merged from several sets of one key changes it once).
        let n = 0
        for (const [client, clock] of txn.afterState) n += clock - (txn.beforeState.get(client) ?? 0)
        cb(n, times ? [...event.keysChanged].map((k) => map.get(k)?.t) : undefined)
      })
    },
    async synced() {
      const t0 = Date.now()
      while (provider.unsyncedChanges > 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5))
    },
  }
}
