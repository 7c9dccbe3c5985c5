/**
 * A WebSocket constructor with an off switch, handed to WsClientTransport. "Offline" closes the
 * open sockets and makes new ones fail at once, as a dropped network would: the transport goes
 * `reconnecting`, the endpoint keeps changes pending and resends them when back. Used by the
 * page's offline toggle and by the e2e test (Chromium's network emulation does not reliably
 * cut an open WebSocket to localhost).
 */
export interface NetSwitch {
  readonly offline: boolean
  setOffline(offline: boolean): void
  /** Time of the last message that arrived on any socket (performance.now), for measurements. */
  lastMessageAt: number
  readonly WebSocket: new (url: string, protocols?: string | string[]) => WebSocket
}

export function netSwitch(): NetSwitch {
  const open = new Set<WebSocket>()
  const state = {
    offline: false,
    lastMessageAt: 0,
    setOffline(offline: boolean) {
      state.offline = offline
      if (offline) for (const ws of open) ws.close(4000, 'offline')
    },
    WebSocket: undefined as unknown as NetSwitch['WebSocket'],
  }
  class SwitchableWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      // Offline: a socket that fails shortly after, like one on a dead network.
      if (state.offline) return deadSocket() as unknown as SwitchableWebSocket
      super(url, protocols)
      open.add(this)
      this.addEventListener('close', () => open.delete(this))
      this.addEventListener('message', () => (state.lastMessageAt = performance.now()))
    }
  }
  state.WebSocket = SwitchableWebSocket
  return state
}

function deadSocket(): unknown {
  const socket = {
    binaryType: 'arraybuffer',
    readyState: 0,
    bufferedAmount: 0,
    protocol: '',
    onopen: null as ((e: unknown) => void) | null,
    onclose: null as ((e: unknown) => void) | null,
    onerror: null as ((e: unknown) => void) | null,
    onmessage: null,
    send() {
      throw new DOMException('offline', 'InvalidStateError')
    },
    close() {},
    addEventListener() {},
    removeEventListener() {},
  }
  setTimeout(() => {
    socket.readyState = 3
    socket.onerror?.({ type: 'error' })
    socket.onclose?.({ type: 'close', code: 1006, reason: 'offline', wasClean: false })
  }, 20)
  return socket
}
