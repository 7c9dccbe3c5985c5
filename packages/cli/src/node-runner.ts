import { Endpoint, newEndpointId, type EndpointAddresses, type EndpointOptions, type Storage } from '@zinc/core'
import type { ZmqTransport } from '@zinc/transport-zmq'
import { createLogger, type CliLogLevel, type LogFormat } from './logging.js'
import { openCoordinator, type CoordinatorFlag } from './coordinator.js'
import { CliError } from './errors.js'
import { curveOptions, type CurveFlags } from './options.js'
import type { RunningShards } from './shard-runner.js'
import { startStatsServer, type StatsServer } from './stats-server.js'
import { openStorage, storageOptions } from './storage.js'

/** Everything `zinc host` and `zinc relay` have in common, parsed. */
export interface NodeConfig extends CurveFlags {
  command: 'host' | 'relay'
  bind: EndpointAddresses
  join?: EndpointAddresses
  data?: string
  heartbeatMs?: number
  peerTimeoutMs?: number
  joinTimeoutMs?: number
  priority?: number
  token?: string
  statsPort?: number
  statsHost?: string
  /** `--coordinator`: who decides the root (host only). */
  coordinator?: CoordinatorFlag | 'peers'
  leaseTtlMs?: number
  /** `--shards N` (with an etcd coordinator): documents spread over N shards, each its own tree. */
  shards?: number
  logLevel: CliLogLevel
  logFormat: LogFormat
}

/** Where the CLI writes what it prints (addresses); injectable for tests. */
export interface Output {
  out: (line: string) => void
}

const stdout: Output = { out: (line) => void process.stdout.write(line + '\n') }

/**
 * Runs a node in the foreground until SIGINT or SIGTERM, then closes every socket, the stats
 * server and the store, and resolves with the exit code (0 after a clean shutdown). A signal
 * during startup shuts down as soon as the node is up; a second signal exits at once (130); a
 * shutdown stuck for 10 s resolves 1.
 */
export async function runNode(config: NodeConfig, output: Output = stdout): Promise<number> {
  const id = newEndpointId()
  // core names an endpoint 'relay' once it has children and 'client' before; a node started
  // with `zinc relay` binds and serves children from the start, so it reports 'relay' until it
  // is promoted to 'host'.
  const shown = (r: string) => (config.command === 'relay' && r === 'client' ? 'relay' : r)
  let role: string = config.join ? shown('client') : 'host'
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, role: () => role, mapRole: shown })
  const log = logger.child({ endpoint: id })
  const started = Date.now()

  let storage: Storage | undefined
  let transport: ZmqTransport | undefined
  let endpoint: Endpoint | undefined
  let stats: StatsServer | undefined
  let sharded: RunningShards | undefined
  const cleanup = async () => {
    const steps: Array<[string, (() => Promise<unknown>) | undefined]> = [
      ['stats server', stats && (() => stats!.close())],
      ['endpoint', endpoint && (() => endpoint!.close())],
      ['shards', sharded && (() => sharded!.close())],
      ['transport', transport && (() => transport!.close())],
      ['storage', storage && (() => storage!.close())],
    ]
    let ok = true
    for (const [what, step] of steps) {
      if (!step) continue
      try {
        await step()
      } catch (error) {
        ok = false
        log.error({ err: error, step: what }, `closing the ${what} failed`)
      }
    }
    return ok
  }

  // Signal handlers first: a SIGTERM that arrives while starting (or right after the addresses
  // are printed) must shut down cleanly, not kill the process with the default action.
  let finish!: (code: number) => void
  const done = new Promise<number>((resolve) => (finish = resolve))
  let starting = true
  let stopping = false
  const shutdown = () => {
    const timer = setTimeout(() => {
      log.error({}, 'shutdown did not finish within 10 s; exiting')
      finish(1)
    }, 10_000)
    timer.unref()
    void cleanup().then((ok) => {
      clearTimeout(timer)
      log.info({}, ok ? 'stopped' : 'stopped, with errors')
      finish(ok ? 0 : 1)
    })
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without a clean shutdown')
      process.exit(130)
    }
    stopping = true
    log.info({ signal }, starting ? 'shutting down once started' : 'shutting down')
    if (!starting) shutdown()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const removeHandlers = () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  void done.then(removeHandlers)

  try {
    const shards = config.shards !== undefined && config.shards > 1 ? config.shards : undefined
    if (shards !== undefined && (config.coordinator === undefined || config.coordinator === 'peers'))
      throw new CliError('--shards spreads documents over hosts that share an etcd: add --coordinator etcd://HOST:PORT (every host of the deployment gives the same one and the same --shards).')
    if (config.data !== undefined && shards === undefined) {
      const opened = await openStorage(config.data)
      storage = opened.storage
      log.info({ path: opened.path }, 'storage opened')
    }
    const curve = curveOptions(config, { bind: true, connect: config.join !== undefined })
    // Loaded here, not at the top: the native addon is not needed for --help.
    const { ZmqTransport } = await import('@zinc/transport-zmq')
    transport = new ZmqTransport({ ...(curve ? { curve } : {}), logger: log })
    const etcdRelay = config.command === 'relay' && config.join === undefined && config.coordinator !== undefined && config.coordinator !== 'peers'
    if (etcdRelay) {
      const { startShardRelay } = await import('./shard-runner.js')
      const running = await startShardRelay({
        coordinator: config.coordinator as CoordinatorFlag,
        bind: config.bind,
        ...(config.leaseTtlMs !== undefined ? { leaseTtlMs: config.leaseTtlMs } : {}),
        transport,
        logger,
        endpointOptions: defined({ heartbeatMs: config.heartbeatMs, peerTimeoutMs: config.peerTimeoutMs, joinTimeoutMs: config.joinTimeoutMs }),
      })
      sharded = running
      role = 'relay'
      if (config.statsPort !== undefined) {
        stats = await startStatsServer({ port: config.statsPort, ...(config.statsHost ? { host: config.statsHost } : {}), snapshot: () => running.snapshot(started) })
        log.info({ url: stats.url }, 'stats server listening')
      }
      output.out(`zinc relay (sharded: an endpoint in every shard's tree, each following that shard's root)`)
      for (const line of running.lines) output.out(line)
      if (stats) output.out(`stats:    ${stats.url}  (GET /stats, /metrics)`)
    } else if (shards !== undefined) {
      const { startShards } = await import('./shard-runner.js')
      const running = await startShards({
        coordinator: config.coordinator as CoordinatorFlag,
        shards,
        bind: config.bind,
        ...(config.data !== undefined ? { data: config.data } : {}),
        ...(config.leaseTtlMs !== undefined ? { leaseTtlMs: config.leaseTtlMs } : {}),
        id,
        transport,
        logger,
        endpointOptions: defined({ heartbeatMs: config.heartbeatMs, peerTimeoutMs: config.peerTimeoutMs, joinTimeoutMs: config.joinTimeoutMs }),
      })
      sharded = running
      role = running.led().length > 0 ? 'host' : 'client'
      if (config.statsPort !== undefined) {
        stats = await startStatsServer({ port: config.statsPort, ...(config.statsHost ? { host: config.statsHost } : {}), snapshot: () => running.snapshot(started) })
        log.info({ url: stats.url }, 'stats server listening')
      }
      output.out(`zinc host ${running.id} (sharded: one tree per shard, roots spread over the live hosts)`)
      const flag = config.coordinator as CoordinatorFlag
      output.out(`coordinator: etcd://${flag.endpoints.join(',')}/${flag.prefix ?? ''} (each shard's root elected there)`)
      for (const line of running.lines) output.out(line)
      if (stats) output.out(`stats:    ${stats.url}  (GET /stats, /metrics; zinc stats ${stats.url} lists the shards led)`)
    } else {
      // `storage` is spread in untyped until core's EndpointOptions declares it (see storage.ts).
      const coordinated = config.coordinator !== undefined && config.coordinator !== 'peers'
      const coordinator = config.coordinator && config.coordinator !== 'peers' ? await openCoordinator(config.coordinator, config.leaseTtlMs) : undefined
      if (coordinator) log.info({ coordinator: coordinator.name }, 'electing the root on the coordinator')
      const options: EndpointOptions = {
        transport,
        ...(coordinator ? { coordinator } : {}),
        bind: config.bind,
        id,
        logger,
        ...(config.join ? { join: config.join } : {}),
        ...defined({ heartbeatMs: config.heartbeatMs, peerTimeoutMs: config.peerTimeoutMs, joinTimeoutMs: config.joinTimeoutMs, priority: config.priority, token: config.token }),
        ...storageOptions(storage),
      }
      if (config.join) log.info({ parent: config.join }, 'joining')
      endpoint = await Endpoint.start(options)
      const ep = endpoint
      role = shown(ep.role)
      ep.on('role', (r) => {
        role = shown(r)
      })
      if (config.statsPort !== undefined) {
        stats = await startStatsServer({
          port: config.statsPort,
          ...(config.statsHost ? { host: config.statsHost } : {}),
          snapshot: () => ({
            endpoint: ep.id,
            role: shown(ep.role),
            epoch: ep.epoch,
            addresses: ep.addresses,
            ...(config.join ? { parent: config.join } : {}),
            peers: ep.peers,
            uptimeSeconds: Math.round((Date.now() - started) / 1000),
            time: new Date().toISOString(),
            stats: ep.stats(),
            transport: { ...transport!.stats() },
          }),
        })
        log.info({ url: stats.url }, 'stats server listening')
      }
      const a = ep.addresses
      output.out(`zinc ${config.command} ${ep.id} (${role}${coordinated ? `, epoch ${ep.epoch}` : ''})`)
      if (coordinator) output.out(`coordinator: ${coordinator.name} (${role === 'host' ? 'elected root' : 'following the elected root'})`)
      output.out(`inbound:  ${a.inbound}`)
      output.out(`outbound: ${a.outbound}`)
      if (stats) output.out(`stats:    ${stats.url}  (GET /stats, /metrics)`)
      output.out(`join it:  zinc relay --join ${a.inbound},${a.outbound} --bind <inbound>,<outbound>`)
      output.out(`tail it:  zinc tail ${a.outbound}`)
    }
  } catch (error) {
    removeHandlers()
    await cleanup()
    throw error
  }
  starting = false
  if (stopping) shutdown()

  return done
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
