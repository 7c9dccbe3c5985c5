/**
 * The Zinc board page: lists of cards that several people edit and reorder at once, written
 * with @zinc/react. The Zinc part, in order:
 *
 *  1. this tab is a leaf Endpoint on the WebSocket transport, joined to the server's edge relay
 *     (the same one the canvas uses, on the page's own port), started without waiting for the
 *     server, on its local copy (IndexedDB): a reload, offline too, shows the board at once;
 *  2. <ZincProvider> hands the endpoint to the components; they read the board with
 *     useSuspenseDocument / useDocument (each selects only its part) and change it with `change`.
 */
import { createRoot } from 'react-dom/client'
import { Endpoint, type EndpointAddresses } from '@zinc/core'
import { IdbLeafStorage } from '@zinc/storage-idb'
import { WsClientTransport } from '@zinc/transport-ws/browser'
import { friendlyColor, friendlyName } from '../../canvas/web/model.js'
import { netSwitch } from '../../canvas/web/net.js'
import { App } from './app.js'
import type { Person } from './model.js'
import { installTestHook } from './test-hook.js'

const PATHS = { inbound: '/zinc/in', outbound: '/zinc/out' }
const net = netSwitch()
const transport = new WsClientTransport({ WebSocket: net.WebSocket, reconnectIntervalMs: 250, reconnectMaxMs: 1000 })
// "Go offline" lasts across a reload of this tab, so a reload can be tried offline.
const offline = sessionStorage.getItem('zinc-board-offline') === '1'
net.setOffline(offline)
const setOffline = (o: boolean) => {
  net.setOffline(o)
  sessionStorage.setItem('zinc-board-offline', o ? '1' : '')
}

function joinAddresses(): EndpointAddresses {
  const ws = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return { inbound: `${ws}//${location.host}${PATHS.inbound}`, outbound: `${ws}//${location.host}${PATHS.outbound}` }
}

const me: Person = { name: sessionStorage.getItem('zinc-name') || friendlyName(), color: sessionStorage.getItem('zinc-color') || friendlyColor() }
sessionStorage.setItem('zinc-name', me.name)
sessionStorage.setItem('zinc-color', me.color)

async function start(): Promise<void> {
  const token = new URLSearchParams(location.search).get('token') ?? undefined
  const leafStorage = await IdbLeafStorage.open({ name: 'zinc-board' })
  const endpoint = await Endpoint.start({ transport, join: joinAddresses(), leafStorage, waitForParent: false, ...(token ? { token } : {}) })
  window.addEventListener('pagehide', () => void endpoint.close().then(() => leafStorage.close()))
  installTestHook(endpoint, leafStorage, net)
  createRoot(document.getElementById('root')!).render(<App endpoint={endpoint} me={me} offline={offline} setOffline={setOffline} notices={leafStorage.warnings} />)
}

start().catch((error: unknown) => {
  document.getElementById('root')!.textContent = `The board could not start: ${(error as Error).message}`
  console.error('[zinc board] failed:', error)
})
