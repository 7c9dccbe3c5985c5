import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { EndpointAddresses, EndpointStats, Peer } from '@zinc/core'
import { CliError } from './errors.js'
import { formatPrometheus, type MetricsInput } from './metrics.js'

/** What `GET /stats` returns (and `zinc stats http://…` reads). */
export interface StatsSnapshot {
  endpoint: string
  role: string
  epoch: number
  addresses: EndpointAddresses
  /** The parent's addresses, for a relay. */
  parent?: EndpointAddresses
  peers: Peer[]
  uptimeSeconds: number
  time: string
  stats: EndpointStats
  transport?: Record<string, number>
  /** A sharded host (`zinc host --shards N`): the shards it leads, and each shard endpoint. */
  shards?: ShardsView
}

/** What a sharded host reports of its shards. */
export interface ShardsView {
  count: number
  /** The shards this host leads now. */
  led: number[]
  /** The shards the live hosts assign to it (led once handed over or recovered). */
  assigned: number[]
  /** The live hosts registered in etcd. */
  hosts: string[]
  endpoints: Array<{ shard: number; role: string; epoch: number; docs: number; addresses: EndpointAddresses }>
}

export interface StatsServer {
  /** `http://127.0.0.1:PORT`, the real port when 0 was asked for. */
  readonly url: string
  close(): Promise<void>
}

/**
 * Serves a running endpoint's stats over HTTP (node:http, no framework):
 * `GET /stats` JSON ({@link StatsSnapshot}), `GET /metrics` Prometheus text, `GET /` an index.
 * Binds 127.0.0.1 unless told otherwise: the counters are for the operator, not the world.
 */
export async function startStatsServer(options: { port: number; host?: string; snapshot: () => StatsSnapshot }): Promise<StatsServer> {
  const host = options.host ?? '127.0.0.1'
  const server = createServer((req, res) => handle(req, res, options.snapshot))
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new CliError(
          error.code === 'EADDRINUSE'
            ? `--stats-port ${options.port}: the port is in use on ${host}; pick another port, or 0 for any free one.`
            : `--stats-port ${options.port}: cannot listen on ${host} (${error.message}).`,
        ),
      )
    }
    server.once('error', onError)
    server.listen(options.port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function handle(req: IncomingMessage, res: ServerResponse, snapshot: () => StatsSnapshot): void {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Use GET.\n')
    return
  }
  try {
    if (path === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(snapshot()) + '\n')
    } else if (path === '/metrics') {
      const s = snapshot()
      const body = formatPrometheus(s.stats as MetricsInput, { endpoint: s.endpoint, role: s.role, uptimeSeconds: s.uptimeSeconds, transport: s.transport })
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' }).end(body)
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('zinc stats server\n  GET /stats    JSON counters, gauges and roster\n  GET /metrics  Prometheus text exposition\n')
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: use /stats or /metrics.\n')
    }
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`)
  }
}
