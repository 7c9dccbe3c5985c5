import { Context } from 'zeromq'
import { transportConformanceSuite } from '@zinc/core/test-suite'
import { ZmqTransport } from '../src/index.js'
import { ipcAddress, removeIpcFiles } from './helpers.js'

/**
 * The shared Transport conformance suite, over each ZeroMQ address family. Every setup
 * tracks the transports it made so teardown closes them all (linger 0: the fork exits).
 */
function zmqSetup(address: () => string, options: { sharedContext?: boolean } = {}) {
  return () => {
    // inproc:// reaches only sockets of the same context, so those transports share one.
    const context = options.sharedContext === true ? new Context({ blocky: false }) : undefined
    const made: ZmqTransport[] = []
    return {
      createTransport() {
        const transport = new ZmqTransport(context === undefined ? {} : { context })
        made.push(transport)
        return transport
      },
      address,
      async teardown() {
        await Promise.all(made.splice(0).map((t) => t.close()))
        removeIpcFiles()
      },
    }
  }
}

let inprocCounter = 0
transportConformanceSuite(
  'zmq over tcp',
  zmqSetup(() => 'tcp://127.0.0.1:*'),
)
transportConformanceSuite(
  'zmq over ipc',
  zmqSetup(() => ipcAddress()),
)
transportConformanceSuite(
  'zmq over inproc',
  zmqSetup(() => `inproc://zinc-suite-${inprocCounter++}`, { sharedContext: true }),
)
