/**
 * The Zinc canvas demo server: one Node process running a small Zinc tree and the web page.
 *
 *   root host  ── ZeroMQ tcp://127.0.0.1:* ──  edge relay  ── WebSocket /zinc/in, /zinc/out ──  browser tabs
 *
 * The relay binds its WebSocket channels on the same http.Server that serves the page, so one
 * port does everything. The page is bundled with esbuild at startup (no separate build step).
 *
 * Run: `npm start`, or `node examples/dist/canvas/server/main.js` after `npm run build`.
 * Env: PORT (default 5173 when free, else any free port), HOST (default 127.0.0.1; 0.0.0.0 to
 * show it to others on your network).
 *
 * Zero configuration is safe on 127.0.0.1: only this server's own page may connect (same
 * origin), and the edge limits below hold. Before exposing it, also set:
 *   ZINC_ALLOWED_ORIGINS  comma-separated page origins allowed to connect (default: same origin)
 *   ZINC_TOKEN            a shared token every tab must present (open the page with ?token=…)
 *   ZINC_TLS_KEY / ZINC_TLS_CERT  PEM files: serve https and wss (or put a TLS proxy in front)
 * and see the README's "Deploying the WebSocket edge" for per-user tokens (JWT).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Endpoint, type EndpointOptions, type Logger } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { sameOrigin, WsServerTransport } from '@zinc/transport-ws'
import { LmdbStorage } from '@zinc/storage-lmdb'
import { buildWeb } from './bundle.js'

/** The WebSocket paths the page joins (the page hard-codes the same ones). */
export const ZINC_PATHS = { inbound: '/zinc/in', outbound: '/zinc/out' } as const

/** Limits of the edge relay, the part of the tree browsers talk to: a bad tab cannot hurt others much. */
export const EDGE_LIMITS = {
  /** Largest message from (or to) a browser tab. A 2,000-shape paste is ~300 KB. */
  maxMessageBytes: 4 * 1024 * 1024,
  /** Per-connection queue of the WebSocket channels (ZeroMQ's high-water-mark semantics). */
  highWaterMark: 1000,
  /**
   * Per-tab limit on changes, presence and messages, enforced by the relay whatever the page
   * does (the page limits itself to 120/s, so an honest tab never meets this one).
   */
  childRateLimit: { perSecond: 300, burst: 600 },
  /** WebSocket connections per IP address (a tab uses two). Behind a proxy, cap at the proxy. */
  maxConnectionsPerIp: 64,
  /** A connection silent this long (no message, no pong) is dropped; tabs heartbeat every 250 ms. */
  idleTimeoutMs: 30_000,
  /**
   * Largest drawing the root lets grow: its snapshot (plus presence) must fit in one message
   * from the edge, or a newly opened tab would be refused it (ERR_TOO_LARGE).
   */
  maxDocumentBytes: 3.5 * 1024 * 1024,
  /** Unread bytes queued per connection, and unsent bytes per subscriber, before back-pressure or drops. */
  highWaterMarkBytes: 16 * 1024 * 1024,
} as const

export interface CanvasServerOptions {
  /** 0 = any free port; undefined = 5173 when free, else any free port. */
  port?: number
  host?: string
  /** Options for the root host (e.g. `storage`, added by the durable-storage work). */
  root?: RootOptions
  logger?: Logger
  /** Page origins allowed to open WebSocket connections. Default: the page this server serves (same origin). */
  allowedOrigins?: readonly string[]
  /** A shared token every tab must present (the page sends `?token=` as its join token). Default: none. */
  token?: string
  /** Checks a joining tab instead of `token` (e.g. a JWT, see the README). */
  authenticate?: EndpointOptions['authenticate']
  /** PEM key and certificate: serve https and wss instead of http and ws. */
  tls?: { key: string | Buffer; cert: string | Buffer }
  /**
   * WebSocket connections per IP address; 0 = no limit. Default `EDGE_LIMITS.maxConnectionsPerIp`.
   * A load test running hundreds of tabs from one host raises it (bench/scenarios/canvas-crowd.mjs).
   */
  maxConnectionsPerIp?: number
}

export interface CanvasServer {
  readonly url: string
  readonly port: number
  readonly root: Endpoint
  readonly relay: Endpoint
  readonly http: Server
  close(): Promise<void>
}

/** What the root host may be given; `storage` is where durable storage plugs in. */
export type RootOptions = Omit<EndpointOptions, 'transport' | 'bind' | 'join' | 'joinTransport'>

/** The root host of the tree, on ZeroMQ. Kept small so it can take a `storage` option later. */
export async function startRoot(transport: ZmqTransport, options: RootOptions = {}): Promise<Endpoint> {
  return Endpoint.start({ ...options, transport, bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } })
}

/** Starts the root, the edge relay and the web server. */
export async function startCanvasServer(options: CanvasServerOptions = {}): Promise<CanvasServer> {
  const host = options.host ?? '127.0.0.1'
  const publicDir = await buildWeb()
  const serve = (req: IncomingMessage, res: ServerResponse) => void serveStatic(publicDir, req, res)
  const http: Server = options.tls ? (createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, serve) as unknown as Server) : createServer(serve)
  const port = await listen(http, host, options.port)

  const zmq = new ZmqTransport()
  const ws = new WsServerTransport({
    server: http,
    maxMessageBytes: EDGE_LIMITS.maxMessageBytes,
    highWaterMark: EDGE_LIMITS.highWaterMark,
    highWaterMarkBytes: EDGE_LIMITS.highWaterMarkBytes,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? EDGE_LIMITS.maxConnectionsPerIp,
    idleTimeoutMs: EDGE_LIMITS.idleTimeoutMs,
    // A page on another site must not be able to use a visitor's browser to draw here.
    allowedOrigins: options.allowedOrigins ?? sameOrigin,
  })
  const authenticate = options.authenticate ?? (options.token ? tokenCheck(options.token) : undefined)
  const scheme = options.tls ? 'wss' : 'ws'
  let root: Endpoint | undefined
  let relay: Endpoint | undefined
  const closeAll = async () => {
    await relay?.close()
    await root?.close()
    await Promise.allSettled([ws.close(), zmq.close()])
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }
  try {
    // A drawing must stay small enough for the edge to send it to a tab in one message.
    root = await startRoot(zmq, { maxDocumentBytes: EDGE_LIMITS.maxDocumentBytes, ...options.root, logger: options.root?.logger ?? options.logger })
    relay = await Endpoint.start({
      transport: ws,
      joinTransport: zmq,
      join: root.addresses,
      bind: { inbound: `${scheme}://127.0.0.1:${port}${ZINC_PATHS.inbound}`, outbound: `${scheme}://127.0.0.1:${port}${ZINC_PATHS.outbound}` },
      maxMessageBytes: EDGE_LIMITS.maxMessageBytes,
      childRateLimit: EDGE_LIMITS.childRateLimit,
      ...(authenticate ? { authenticate } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    })
  } catch (error) {
    await closeAll()
    throw error
  }
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  let closing: Promise<void> | undefined
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${port}`,
    port,
    root,
    relay,
    http,
    close: () => (closing ??= closeAll()),
  }
}

/** The `authenticate` of a shared token: a tab joins only with the same token. */
function tokenCheck(expected: string): NonNullable<EndpointOptions['authenticate']> {
  return ({ token }) => token === expected || 'the token is missing or wrong; open the page with the ?token= the operator gave you'
}

/** Deployment settings from the environment (see the header of this file). */
function deploymentFromEnv(): Pick<CanvasServerOptions, 'allowedOrigins' | 'token' | 'tls'> {
  const env = process.env
  const origins = env.ZINC_ALLOWED_ORIGINS?.split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  const key = env.ZINC_TLS_KEY
  const cert = env.ZINC_TLS_CERT
  if (Boolean(key) !== Boolean(cert)) throw new Error('Set both ZINC_TLS_KEY and ZINC_TLS_CERT (PEM files), or neither.')
  return {
    ...(origins?.length ? { allowedOrigins: origins } : {}),
    ...(env.ZINC_TOKEN ? { token: env.ZINC_TOKEN } : {}),
    ...(key && cert ? { tls: { key: readFileSync(key), cert: readFileSync(cert) } } : {}),
  }
}

/** Listens on `port`; with no port given, 5173 when free, else any free port. */
async function listen(server: Server, host: string, port: number | undefined): Promise<number> {
  const attempt = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (error: Error) => {
        server.off('listening', onListening)
        reject(error)
      }
      const onListening = () => {
        server.off('error', onError)
        resolve((server.address() as AddressInfo).port)
      }
      server.once('error', onError)
      server.once('listening', onListening)
      server.listen(p, host)
    })
  if (port !== undefined) return attempt(port)
  try {
    return await attempt(5173)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    return attempt(0)
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
}

async function serveStatic(dir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    if (path.endsWith('/')) path += 'index.html'
    const file = normalize(join(dir, path))
    if (!file.startsWith(dir + sep)) {
      res.writeHead(403).end()
      return
    }
    const info = await stat(file).catch(() => undefined)
    if (info?.isDirectory()) {
      // /board → /board/ (the page's relative links need the slash)
      res.writeHead(301, { location: `${path}/` }).end()
      return
    }
    if (!info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found')
      return
    }
    const body = await readFile(file)
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache', 'content-length': body.byteLength })
    res.end(req.method === 'HEAD' ? undefined : body)
  } catch {
    if (!res.headersSent) res.writeHead(400).end()
    else res.destroy()
  }
}

function portFromEnv(): number | undefined {
  const raw = process.env.PORT
  if (raw === undefined || raw === '') return undefined
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number (0-65535), got ${JSON.stringify(raw)}`)
  return port
}

async function main(): Promise<void> {
  // The embedded durable default: the root keeps the drawing in LMDB, so a restart loses nothing.
  const dataDir = process.env.ZINC_DATA ?? join(process.cwd(), '.zinc-data', 'canvas')
  const storage = await LmdbStorage.open(dataDir)
  let server: CanvasServer
  try {
    server = await startCanvasServer({ port: portFromEnv(), host: process.env.HOST || '127.0.0.1', root: { storage }, ...deploymentFromEnv() })
  } catch (error) {
    await storage.close()
    throw error
  }
  console.log(`Zinc canvas: ${server.url}`)
  console.log(`Zinc board: ${server.url}/board/`)
  console.log(`  drawings are stored in ${dataDir} (set ZINC_DATA to move them)`)
  console.log(`  root host ${server.root.id.slice(0, 8)} on ${server.root.addresses.inbound} (ZeroMQ); edge relay ${server.relay.id.slice(0, 8)} on ws ${ZINC_PATHS.inbound}`)
  console.log('  open it in two tabs and draw; add ?stress=10000 to load 10,000 shapes; Ctrl-C stops')
  if (!process.env.ZINC_TOKEN && (process.env.HOST ?? '127.0.0.1') !== '127.0.0.1') {
    console.log('  note: no ZINC_TOKEN is set, so anyone who can reach this port can draw (see the README, "Deploying the WebSocket edge")')
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return process.exit(1) // a second Ctrl-C: leave now
    stopping = true
    console.log(`\n${signal}: stopping…`)
    const force = setTimeout(() => process.exit(1), 5000)
    force.unref()
    server.close().then(
      () => storage.close().then(() => process.exit(0)),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error('Zinc canvas failed to start:', error instanceof Error ? error.message : error)
    process.exit(1)
  })
}
