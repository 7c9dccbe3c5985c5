import { Command } from 'commander'
import { DEFAULTS } from '@zinc/core'
import { parseAddressPair } from '../addresses.js'
import { parseCoordinator } from '../coordinator.js'
import type { NodeConfig } from '../node-runner.js'
import { addKeyPairOptions, addLogOptions, collect, integer, type CurveFlags, type LogFlags } from '../options.js'

interface HostFlags extends CurveFlags, LogFlags {
  bind: string
  data?: string
  heartbeatMs?: number
  peerTimeoutMs?: number
  statsPort?: number
  statsHost?: string
  coordinator?: string
  leaseTtlMs?: number
  shards?: number
}

export const DEFAULT_BIND = 'tcp://127.0.0.1:7000,7001'

export function hostCommand(): Command {
  const cmd = new Command('host')
    .summary('run a root host in the foreground')
    .description(
      'Runs a root host: it binds an inbound (PULL) and an outbound (PUB) address, sequences every change, and serves its children. ' +
        'Logs go to stderr (human lines on a terminal, JSON otherwise); the resolved addresses are printed on stdout. ' +
        'Ctrl-C (SIGINT) or SIGTERM closes every socket, flushes storage and exits 0.',
    )
    .option('--bind <in,out>', 'inbound,outbound addresses to bind; the outbound may be just a port', DEFAULT_BIND)
    .option('--data <dir>', 'keep documents durably in an LMDB store in <dir> (@zinc/storage-lmdb)')
    .option('--heartbeat-ms <n>', `heartbeat period (default ${DEFAULTS.heartbeatMs})`, integer('--heartbeat-ms', 1))
    .option('--peer-timeout-ms <n>', `silence after which a child is dropped (default ${DEFAULTS.peerTimeoutMs})`, integer('--peer-timeout-ms', 1))
    .option('--stats-port <port>', 'serve GET /stats (JSON) and GET /metrics (Prometheus) on this port; 0 picks a free one', integer('--stats-port', 0, 65535))
    .option('--stats-host <host>', 'interface of the stats server', '127.0.0.1')
    .option('--coordinator <url>', 'who decides the root: peers (embedded, the default) or etcd://HOST:PORT[,…][/PREFIX] (hosts elect one root on etcd; the others follow it)')
    .option('--shards <n>', 'with --coordinator etcd: spread documents over N shards, each a tree whose root is one of the live hosts (every host gives the same N)', integer('--shards', 1, 4096))
    .option('--lease-ttl-ms <n>', 'with --coordinator etcd: how long a silent root keeps the role (default 5000)', integer('--lease-ttl-ms', 1000))
  addKeyPairOptions(cmd)
  cmd.option('--allow-key <key>', 'admit only children with this CURVE public key (repeatable, or comma-separated)', collect)
  addLogOptions(cmd)
  cmd.addHelpText(
    'after',
    `
Addresses:
  INBOUND,OUTBOUND where OUTBOUND may be a bare port:  tcp://0.0.0.0:7000,7001
  host:port shorthand for tcp:                         localhost:7000,7001
  fresh ports (printed at start):                      tcp://127.0.0.1:*,*
  ipc:                                                 ipc:///tmp/zinc-in,ipc:///tmp/zinc-out

Examples:
  $ zinc host
  $ zinc host --bind tcp://0.0.0.0:7000,7001 --data ./zinc-data --stats-port 9464
  $ zinc host --bind tcp://127.0.0.1:*,* --log-level debug --log-format json
  $ zinc host --bind tcp://127.0.0.1:*,* --coordinator etcd://127.0.0.1:2379   # run several: one is root
  $ zinc host --bind tcp://127.0.0.1:*,* --coordinator etcd://127.0.0.1:2379 --shards 12   # run several: shards spread over them
  $ zinc keygen > host.keys   # then:
  $ zinc host --bind tcp://0.0.0.0:7000,7001 --curve-public <public> --curve-secret <secret> --allow-key <client public>
`,
  )
  cmd.action(async (flags: HostFlags) => {
    const config: NodeConfig = {
      command: 'host',
      bind: parseAddressPair(flags.bind, 'bind'),
      ...(flags.coordinator !== undefined ? { coordinator: parseCoordinator(flags.coordinator) } : {}),
      logLevel: flags.logLevel,
      logFormat: flags.logFormat,
      ...pick(flags, ['data', 'heartbeatMs', 'peerTimeoutMs', 'statsPort', 'statsHost', 'curveSecret', 'curvePublic', 'allowKey', 'leaseTtlMs', 'shards']),
    }
    const { runNode } = await import('../node-runner.js')
    process.exitCode = await runNode(config)
  })
  return cmd
}

export function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k]
  return out
}
