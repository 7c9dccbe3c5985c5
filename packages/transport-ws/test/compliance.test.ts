import type { Transport } from '@zinc/core'
import { transportConformanceSuite } from '@zinc/core/test-suite'
import { WebSocket } from 'ws'
import { WsClientTransport, WsServerTransport } from '../src/index.js'

/**
 * The shared Transport conformance suite over WebSocket on loopback. Every node is a
 * `WsServerTransport`: it binds with `ws` and connects with the same PUSH/SUB code a browser
 * tab runs. Each address is port 0 (a new server) on its own path.
 */
let path = 0
transportConformanceSuite('ws', () => {
  const made: WsServerTransport[] = []
  return {
    createTransport() {
      const transport = new WsServerTransport()
      made.push(transport)
      return transport
    },
    address: () => `ws://127.0.0.1:0/suite-${path++}`,
    async teardown() {
      await Promise.all(made.splice(0).map((t) => t.close()))
    },
  }
})

/**
 * The same suite with every connecting channel made by the browser transport (given `ws`'s
 * WebSocket, as Node 20 has no global one), binding with a `WsServerTransport` beside it.
 */
transportConformanceSuite('ws (browser client)', () => {
  const made: Array<{ close(): Promise<void> }> = []
  return {
    createTransport(): Transport {
      const binder = new WsServerTransport()
      const browser = new WsClientTransport({ WebSocket })
      made.push(binder, browser)
      return {
        name: 'ws',
        canBind: true,
        pull: (address, options) => binder.pull(address, options),
        pub: (address, options) => binder.pub(address, options),
        push: (address, options) => browser.push(address, options),
        sub: (address, options) => browser.sub(address, options),
        close: async () => {
          await Promise.all([binder.close(), browser.close()])
        },
      }
    },
    address: () => `ws://127.0.0.1:0/suite-${path++}`,
    async teardown() {
      await Promise.all(made.splice(0).map((t) => t.close()))
    },
  }
})
