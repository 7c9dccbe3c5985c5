import { transportConformanceSuite } from '@zinc/core/test-suite'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'

transportConformanceSuite('inproc', () => {
  // A fresh network per test: one simulated LAN, each createTransport() one node on it.
  const network = new InprocNetwork()
  return {
    createTransport: () => new InprocTransport(network),
    address: () => network.uniqueAddress('suite'),
  }
})
