/**
 * The WebSocket constructor the page hands to WsClientTransport, with two jobs:
 *
 * - **An off switch.** "Offline" closes the open sockets and makes new ones fail at once, as a
 *   dropped network would: the transport goes `reconnecting`, the endpoint keeps changes pending
 *   and resends them when back. Used by the page's offline toggle and by the e2e test
 *   (Chromium's network emulation does not reliably cut an open WebSocket to localhost).
 * - **Quiet retries while the server is away.** Chromium prints a console error for every
 *   WebSocket that fails to connect, and a page cannot silence it. The transport retries each
 *   channel every second or so; while the server is known to be unreachable, only one real
 *   attempt per server (host:port, whichever channel asks first) is let through every `probeMs`
 *   and the others fail at once without touching the network. So the console gets at most one
 *   line per `probeMs`, and once the server is back the probe opens, every channel may connect
 *   again, and the tab is back within about `probeMs` + the transport's retry wait.
 */
export interface NetSwitch {
  readonly offline: boolean
  setOffline(offline: boolean): void
  /** Time of the last message that arrived on any socket (performance.now), for measurements. */
  lastMessageAt: number
  /** Whether the last real connection attempt failed (the server is unreachable), and since when. */
  readonly unreachableSince: number | undefined
  /** When the next real attempt will be let through (performance.now), while unreachable. */
  nextAttemptAt(): number
  readonly WebSocket: new (url: string, protocols?: string | string[]) => WebSocket
}

export function netSwitch(probeMs = 1500): NetSwitch {
  const open = new Set<WebSocket>()
  /** Last real attempt per server (host:port), while it is unreachable. */
  const lastAttempt = new Map<string, number>()
  const state = {
    offline: false,
    lastMessageAt: 0,
    unreachableSince: undefined as number | undefined,
    setOffline(offline: boolean) {
      state.offline = offline
      if (offline) for (const ws of open) ws.close(4000, 'offline')
    },
    nextAttemptAt() {
      if (state.unreachableSince === undefined) return performance.now()
      return Math.min(...[...lastAttempt.values()].map((t) => t + probeMs), performance.now() + probeMs)
    },
    WebSocket: undefined as unknown as NetSwitch['WebSocket'],
  }
  const server = (url: string) => new URL(url).host
  const mayTry = (url: string) => {
    if (state.unreachableSince === undefined) return true
    const last = lastAttempt.get(server(url)) ?? -Infinity
    return performance.now() - last >= probeMs
  }
  class SwitchableWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      // Offline, or a retry too soon after a failed one: a socket that fails shortly after.
      if (state.offline || !mayTry(url)) return deadSocket() as unknown as SwitchableWebSocket
      super(url, protocols)
      lastAttempt.set(server(url), performance.now())
      let opened = false
      open.add(this)
      this.addEventListener('open', () => {
        opened = true
        state.unreachableSince = undefined
        lastAttempt.clear()
      })
      this.addEventListener('close', () => {
        open.delete(this)
        if (!opened && !state.offline) state.unreachableSince ??= performance.now()
      })
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
