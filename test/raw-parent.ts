import { decodeMessage, type Message } from '@zinc/core'
import { type InprocNetwork, InprocTransport } from '@zinc/transport-inproc'

/**
 * A parent that is only its two channels, on the in-process transport: the test decides what
 * it answers (nothing, a welcome, heartbeats) to see what a joiner sends and when.
 */
export async function rawParent(network: InprocNetwork, name: string) {
  const transport = new InprocTransport(network, { node: name })
  const addresses = { inbound: `inproc://${name}-in`, outbound: `inproc://${name}-out` }
  const pull = await transport.pull(addresses.inbound)
  const pub = await transport.pub(addresses.outbound)
  return {
    addresses,
    pub,
    /** Calls `heard` with every message pushed to this parent, in order. */
    listen(heard: (m: Message) => void | Promise<void>): void {
      void (async () => {
        for await (const frames of pull) await heard(decodeMessage(frames[0]!, 1 << 20))
      })()
    },
    close: () => Promise.all([pull.close(), pub.close()]),
  }
}
