import { Endpoint, type Document, type EndpointOptions } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'

/** Polls `predicate` until it is true; fails with `message` after `timeoutMs` (generous by default). */
export async function waitFor(predicate: () => boolean | Promise<boolean>, message = 'condition', timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Fast liveness settings for tests on the in-process network. */
export const FAST = { heartbeatMs: 30, peerTimeoutMs: 400, resendMs: 150, joinTimeoutMs: 10_000 } as const

export interface InprocCluster {
  network: InprocNetwork
  host: Endpoint
  clients: Endpoint[]
  all: Endpoint[]
  /** Node name of each endpoint's transport, for partitions and kills. */
  nodeOf: Map<Endpoint, string>
  close(): Promise<void>
}

/** A host and `n` clients on one in-process network, each on its own simulated node. */
export async function inprocCluster(n: number, options: Partial<EndpointOptions> = {}, network = new InprocNetwork({ seed: 1 })): Promise<InprocCluster> {
  const nodeOf = new Map<Endpoint, string>()
  const make = async (name: string, join?: Endpoint) => {
    const transport = new InprocTransport(network, { node: name })
    const endpoint = await Endpoint.start({
      ...FAST,
      ...options,
      transport,
      bind: { inbound: network.uniqueAddress(`${name}-in`), outbound: network.uniqueAddress(`${name}-out`) },
      ...(join ? { join: join.addresses } : {}),
    })
    nodeOf.set(endpoint, name)
    return endpoint
  }
  const host = await make('host')
  const clients: Endpoint[] = []
  for (let i = 0; i < n; i++) clients.push(await make(`client-${i}`, host))
  const all = [host, ...clients]
  return {
    network,
    host,
    clients,
    all,
    nodeOf,
    close: async () => {
      await Promise.all(all.map((e) => e.close()))
    },
  }
}

/** True when every document has no pending change and the same seq and state as the first. */
export function converged(docs: Document<unknown>[]): boolean {
  const [root, ...rest] = docs
  if (!root) return true
  const want = JSON.stringify(root.state)
  return docs.every((d) => d.pendingCount === 0) && rest.every((d) => d.seq === root.seq && JSON.stringify(d.state) === want)
}

export interface InprocTree {
  network: InprocNetwork
  root: Endpoint
  /** levels[0] = [root], levels[d] = endpoints at depth d. */
  levels: Endpoint[][]
  all: Endpoint[]
  nodeOf: Map<Endpoint, string>
  close(): Promise<void>
}

/** A tree of the given depth (edges from root to leaves) and fan-out, one node per endpoint. */
export async function inprocTree(depth: number, fanout: number, options: Partial<EndpointOptions> = {}, network = new InprocNetwork({ seed: 7 })): Promise<InprocTree> {
  const nodeOf = new Map<Endpoint, string>()
  let n = 0
  const make = async (parent?: Endpoint) => {
    const name = `n${n++}`
    const endpoint = await Endpoint.start({
      ...FAST,
      ...options,
      transport: new InprocTransport(network, { node: name }),
      bind: { inbound: network.uniqueAddress(`${name}-in`), outbound: network.uniqueAddress(`${name}-out`) },
      ...(parent ? { join: parent.addresses } : {}),
    })
    nodeOf.set(endpoint, name)
    return endpoint
  }
  const root = await make()
  const levels: Endpoint[][] = [[root]]
  for (let d = 1; d <= depth; d++) {
    const level: Endpoint[] = []
    for (const parent of levels[d - 1]!) for (let i = 0; i < fanout; i++) level.push(await make(parent))
    levels.push(level)
  }
  const all = levels.flat()
  return { network, root, levels, all, nodeOf, close: async () => void (await Promise.all(all.map((e) => e.close()))) }
}
