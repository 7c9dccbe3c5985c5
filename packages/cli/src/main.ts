#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { ZincError } from '@zinc/core'
import { benchCommand } from './commands/bench.js'
import { hostCommand } from './commands/host.js'
import { keygenCommand } from './commands/keygen.js'
import { relayCommand } from './commands/relay.js'
import { statsCommand } from './commands/stats.js'
import { tailCommand } from './commands/tail.js'
import { CliError } from './errors.js'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

export function buildProgram(): Command {
  const program = new Command('zinc')
    .description('Run and inspect Zinc nodes: real-time collaborative documents over a tree of ZeroMQ endpoints.')
    .version(version, '-V, --version')
    .showHelpAfterError('(add --help for usage and examples)')
  for (const cmd of [hostCommand(), relayCommand(), tailCommand(), statsCommand(), keygenCommand(), benchCommand()]) {
    cmd.showHelpAfterError(`(run zinc ${cmd.name()} --help for usage and examples)`)
    program.addCommand(cmd)
  }
  program.addHelpText(
    'after',
    `
Examples:
  $ zinc host --bind tcp://0.0.0.0:7000,7001 --stats-port 9464     # a root host
  $ zinc relay --join localhost:7000,7001 --bind 127.0.0.1:7100,7101
  $ zinc tail tcp://127.0.0.1:7001                                 # every message, decoded
  $ zinc stats http://127.0.0.1:9464 --watch                       # counters, refreshed
  $ zinc keygen                                                    # a CURVE key pair
  $ zinc bench

Run zinc <command> --help for each command's options and examples.
`,
  )
  return program
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  if (argv.length <= 2) {
    program.outputHelp()
    process.exit(1)
  }
  try {
    await program.parseAsync(argv)
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`zinc: ${error.message}\n`)
      process.exit(error.exitCode)
    }
    if (error instanceof ZincError) {
      process.stderr.write(`zinc: ${error.message}\n`)
      process.exit(1)
    }
    process.stderr.write(`zinc: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(70)
  }
  // Nothing may keep a finished command alive (a lingering socket, a timer): exit explicitly.
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0)
}

await main(process.argv)
