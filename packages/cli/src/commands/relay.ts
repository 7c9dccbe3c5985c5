import { Command } from 'commander'
import { DEFAULTS } from '@zinc/core'
import { parseAddressPair } from '../addresses.js'
import type { NodeConfig } from '../node-runner.js'
import { addKeyPairOptions, addLogOptions, addServerKeyOption, collect, integer, type CurveFlags, type LogFlags } from '../options.js'
import { parseCoordinator } from '../coordinator.js'
import { CliError } from '../errors.js'
import { pick } from './host.js'

interface RelayFlags extends CurveFlags, LogFlags {
  join?: string
  coordinator?: string
  leaseTtlMs?: number
  bind: string
  priority?: number
  token?: string
  heartbeatMs?: number
  peerTimeoutMs?: number
  joinTimeoutMs?: number
  statsPort?: number
  statsHost?: string
}

export function relayCommand(): Command {
  const cmd = new Command('relay')
    .summary('run a relay node that joins a parent and serves children')
    .description(
      'Runs a relay: it joins a parent (a host or another relay) and binds its own inbound and outbound addresses, so children can join it ' +
        'and it can be promoted if its parent dies. Same logging, stats server and shutdown as zinc host.',
    )
    .option('--join <in,out>', "the parent's inbound,outbound addresses (as zinc host prints them); required unless --coordinator etcd://…")
    .option(
      '--coordinator <url>',
      "etcd://HOST:PORT[,…][/PREFIX] of a sharded deployment (zinc host --shards N): instead of --join, run an endpoint in every shard's tree, each following that shard's root",
    )
    .option('--lease-ttl-ms <n>', 'with --coordinator: the lease the deployment uses (default 5000)', integer('--lease-ttl-ms', 1000))
    .requiredOption('--bind <in,out>', 'inbound,outbound addresses to bind; the outbound may be just a port')
    .option('--priority <n>', 'succession priority among siblings: higher is promoted first (default 0)', integer('--priority', -(2 ** 31), 2 ** 31 - 1))
    .option('--token <token>', "credentials for the parent's authenticate hook")
    .option('--heartbeat-ms <n>', `heartbeat period (default ${DEFAULTS.heartbeatMs})`, integer('--heartbeat-ms', 1))
    .option('--peer-timeout-ms <n>', `silence after which a child is dropped or the parent presumed dead (default ${DEFAULTS.peerTimeoutMs})`, integer('--peer-timeout-ms', 1))
    .option('--join-timeout-ms <n>', `how long to wait for the parent's welcome (default ${DEFAULTS.joinTimeoutMs})`, integer('--join-timeout-ms', 1))
    .option('--stats-port <port>', 'serve GET /stats (JSON) and GET /metrics (Prometheus) on this port; 0 picks a free one', integer('--stats-port', 0, 65535))
    .option('--stats-host <host>', 'interface of the stats server', '127.0.0.1')
  addKeyPairOptions(cmd)
  addServerKeyOption(cmd, 'the parent (its --curve-public)')
  cmd.option('--allow-key <key>', 'admit only children with this CURVE public key (repeatable, or comma-separated)', collect)
  addLogOptions(cmd)
  cmd.addHelpText(
    'after',
    `
Examples:
  $ zinc relay --join tcp://10.0.0.5:7000,7001 --bind tcp://0.0.0.0:7100,7101
  $ zinc relay --join localhost:7000,7001 --bind 127.0.0.1:*,* --priority 10 --stats-port 0
  $ zinc relay --coordinator etcd://127.0.0.1:2379 --bind tcp://127.0.0.1:*,*   # sharded: one endpoint per shard
  $ zinc relay --join tcp://10.0.0.5:7000,7001 --bind tcp://0.0.0.0:7100,7101 \\
      --server-key <host public> --curve-public <relay public> --curve-secret <relay secret>
`,
  )
  cmd.action(async (flags: RelayFlags) => {
    const coordinator = flags.coordinator !== undefined ? parseCoordinator(flags.coordinator) : undefined
    if (coordinator === 'peers') throw new CliError('zinc relay --coordinator takes etcd://HOST:PORT[/PREFIX] (a sharded deployment); for the embedded succession give --join instead.')
    if (flags.join === undefined && coordinator === undefined) throw new CliError("zinc relay needs --join <in,out> (the parent's addresses), or --coordinator etcd://… for a sharded deployment.")
    if (flags.join !== undefined && coordinator !== undefined)
      throw new CliError('zinc relay takes --join or --coordinator, not both: with --coordinator each shard endpoint joins the root etcd names.')
    const config: NodeConfig = {
      command: 'relay',
      ...(flags.join !== undefined ? { join: parseAddressPair(flags.join, 'connect', '--join') } : {}),
      ...(coordinator !== undefined ? { coordinator } : {}),
      bind: parseAddressPair(flags.bind, 'bind'),
      logLevel: flags.logLevel,
      logFormat: flags.logFormat,
      ...pick(flags, ['priority', 'token', 'heartbeatMs', 'peerTimeoutMs', 'joinTimeoutMs', 'statsPort', 'statsHost', 'curveSecret', 'curvePublic', 'allowKey', 'serverKey', 'leaseTtlMs']),
    }
    const { runNode } = await import('../node-runner.js')
    process.exitCode = await runNode(config)
  })
  return cmd
}
