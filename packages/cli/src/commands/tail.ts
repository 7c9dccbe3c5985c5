import { Command } from 'commander'
import { docTopic } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { parseAddress } from '../addresses.js'
import { describeFrames, formatTailLine } from '../format.js'
import { addKeyPairOptions, addServerKeyOption, curveOptions, integer, type CurveFlags } from '../options.js'
import { assertReachable } from '../reach.js'

interface TailFlags extends CurveFlags {
  doc?: string
  json?: boolean
  count?: number
  timeoutMs: number
}

export function tailCommand(): Command {
  const cmd = new Command('tail')
    .summary("print every message a node publishes, decoded (like nanocat)")
    .description(
      "Subscribes to a node's outbound (PUB) address and prints every message, one line each: time, topic, kind, doc, seq, origin, size, " +
        'and a summary (the patches of a FRAGMENT, the heads of a HEARTBEAT, …). Malformed frames print as "bad frame: <reason>" and tail goes on. ' +
        'It is a passive subscriber: the node does not see it as a child. Stops on Ctrl-C.',
    )
    .argument('<address>', "the node's outbound address (zinc host prints it as outbound:)")
    .option('--doc <id>', 'only this document (topic d/<id>)')
    .option('--json', 'one JSON object per line instead of text')
    .option('--count <n>', 'exit after n messages', integer('--count', 1))
    .option('--timeout-ms <n>', 'give up when the address does not answer within this long', integer('--timeout-ms', 1), 3000)
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

async function tail(addressArg: string, flags: TailFlags): Promise<number> {
  const address = parseAddress(addressArg, 'connect')
  const curve = curveOptions(flags, { bind: false, connect: true, ephemeralClient: true })
  await assertReachable(address, flags.timeoutMs, "Is the node running, and is this its outbound address (zinc host prints it as outbound:)?")
  const transport = new ZmqTransport({ ...(curve ? { curve } : {}), highWaterMark: 100_000 })
  const stop = () => void transport.close()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stop() // the reader went away (| head): stop quietly
  })
  try {
    const sub = await transport.sub(address)
    sub.subscribe(flags.doc !== undefined ? docTopic(flags.doc) : '')
    process.stderr.write(`zinc tail: subscribed to ${address} (${flags.doc !== undefined ? `document ${flags.doc}` : 'every topic'}); Ctrl-C stops\n`)
    let seen = 0
    for await (const frames of sub) {
      const record = describeFrames(frames)
      process.stdout.write((flags.json ? JSON.stringify(record) : formatTailLine(record)) + '\n')
      if (flags.count !== undefined && ++seen >= flags.count) break
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await transport.close()
  }
  return 0
}
