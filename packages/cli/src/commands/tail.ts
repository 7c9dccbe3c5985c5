import { Command } from 'commander'
import { CONTROL_TOPIC, docTopic } from '@zinc/core'
import { parseAddress } from '../addresses.js'
import { describeFrames, formatTailLine } from '../format.js'
import { addKeyPairOptions, addServerKeyOption, curveOptions, integer, type CurveFlags } from '../options.js'
import { CliError } from '../errors.js'

interface TailFlags extends CurveFlags {
  doc?: string
  json?: boolean
  count?: number
  timeoutMs: number
}

export function tailCommand(): Command {
  const cmd = new Command('tail')
    .summary('print every message a node publishes, decoded (like nanocat)')
    .description(
      "Subscribes to a node's outbound (PUB) address and prints every message, one line each: time, topic, kind, doc, seq, origin, size, " +
        'and a summary (the patches of a FRAGMENT, the heads of a HEARTBEAT, …). Malformed frames print as "bad frame: <reason>" and tail goes on. ' +
        'It is a passive subscriber: the node does not see it as a child. Stops on Ctrl-C.',
    )
    .argument('<address>', "the node's outbound address (zinc host prints it as outbound:)")
    .option('--doc <id>', 'only this document (topic d/<id>)')
    .option('--json', 'one JSON object per line instead of text')
    .option('--count <n>', 'exit after n messages', integer('--count', 1))
    .option('--timeout-ms <n>', 'give up when nothing (not even a heartbeat) arrives within this long', integer('--timeout-ms', 1), 3000)
  addServerKeyOption(cmd, 'the node (its --curve-public)')
  addKeyPairOptions(cmd)
  cmd.addHelpText(
    'after',
    `
Examples:
  $ zinc tail tcp://127.0.0.1:7001
  $ zinc tail localhost:7001 --doc board-1
  $ zinc tail 7001 --json | jq 'select(.kind == "FRAGMENT")'
  $ zinc tail tcp://10.0.0.5:7001 --server-key <host public>     # a CURVE node; a throwaway client key is made

Output:
  12:00:01.234 d/board-1 FRAGMENT doc=board-1 seq=42 origin=1a2b3c4d 61B replace shapes/s1/x=5 (+2 more)
`,
  )
  cmd.action(async (addressArg: string, flags: TailFlags) => {
    process.exitCode = await tail(addressArg, flags)
  })
  return cmd
}

/**
 * A bound node publishes a heartbeat on `c` every heartbeatMs, so hearing nothing within
 * `--timeout-ms` means the node is unreachable (or the CURVE keys do not match). With `--doc`,
 * `c` is subscribed too for that liveness check, and not printed.
 */
async function tail(addressArg: string, flags: TailFlags): Promise<number> {
  const address = parseAddress(addressArg, 'connect')
  const { ZmqTransport, generateKeyPair } = await import('@zinc/transport-zmq')
  const curve = curveOptions(flags, { bind: false, connect: true, ephemeralClient: generateKeyPair })
  const transport = new ZmqTransport({ ...(curve ? { curve } : {}), highWaterMark: 100_000 })
  let handshake: string | undefined
  transport.on('handshake-failed', (failure) => (handshake = failure.reason))
  let interrupted = false
  const stop = () => {
    interrupted = true
    void transport.close()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stop() // the reader went away (| head): stop quietly
  })
  let heard = false
  const timer = setTimeout(() => {
    if (!heard) void transport.close()
  }, flags.timeoutMs)
  try {
    const sub = await transport.sub(address)
    const only = flags.doc !== undefined ? docTopic(flags.doc) : undefined
    sub.subscribe(only ?? '')
    if (only !== undefined) sub.subscribe(CONTROL_TOPIC)
    let seen = 0
    for await (const frames of sub) {
      if (!heard) {
        heard = true
        clearTimeout(timer)
        process.stderr.write(`zinc tail: receiving from ${address} (${only !== undefined ? `document ${flags.doc}` : 'every topic'}); Ctrl-C stops\n`)
      }
      if (only !== undefined && !startsWith(frames[0], only)) continue
      const record = describeFrames(frames)
      process.stdout.write((flags.json ? JSON.stringify(record) : formatTailLine(record)) + '\n')
      if (flags.count !== undefined && ++seen >= flags.count) break
    }
  } finally {
    clearTimeout(timer)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await transport.close()
  }
  if (!heard && !interrupted) throw silentNode(address, flags.timeoutMs, curve !== undefined, handshake)
  return 0
}

function startsWith(topic: Uint8Array | undefined, prefix: string): boolean {
  return topic !== undefined && Buffer.from(topic).toString('utf8').startsWith(prefix)
}

/** The error for a node that sent nothing, not even a heartbeat, within the timeout. */
export function silentNode(address: string, timeoutMs: number, curve: boolean, handshake?: string): CliError {
  if (handshake !== undefined) {
    return new CliError(
      `Nothing arrived from ${address} within ${timeoutMs} ms: the security handshake failed (${handshake}). ${curve ? "Check --server-key: it must be the node's --curve-public, and the node's --allow-key list must admit this client." : 'The node uses CURVE: add --server-key <its public key>.'}`,
    )
  }
  return new CliError(
    `Nothing arrived from ${address} within ${timeoutMs} ms, not even a heartbeat. Is the node running, and is this its outbound address ` +
      `(zinc host prints it as outbound:)? ${curve ? "Check --server-key: it must be the node's --curve-public." : 'If the node uses CURVE, add --server-key <its public key>.'} ` +
      'A node with a slow --heartbeat-ms needs a larger --timeout-ms.',
  )
}
