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
  const program = new Command('zinc').description('Run and inspect Zinc nodes: real-time collaborative documents over a tree of ZeroMQ endpoints.').version(version, '-V, --version')
  program.configureOutput({ outputError: (text, write) => write(oneLineError(program, text)) })
  for (const cmd of [hostCommand(), relayCommand(), tailCommand(), statsCommand(), keygenCommand(), benchCommand()]) {
    cmd.configureOutput({ outputError: (text, write) => write(oneLineError(cmd, text)) })
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

/** `zinc host --bind <in,out> [options]`: the command with its required options and arguments. */
export function usageLine(cmd: Command): string {
  const path: string[] = []
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name())
  if (!cmd.parent) return 'zinc <command> [options]'
  const required = cmd.options.filter((o) => o.mandatory).map((o) => o.flags.replace(/^-\w, /, ''))
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}${a.variadic ? '...' : ''}]`))
  return [...path, ...args, ...required, '[options]'].join(' ')
}

/** commander's error (and its "Did you mean" hint) as one line that ends with the right usage. */
export function oneLineError(cmd: Command, text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) =>
      l
        .trim()
        .replace(/^error: /, '')
        .replace(/^\((.*)\)$/, '$1'),
    )
    .filter(Boolean)
  const [what, ...hints] = lines
  const hint = hints.length ? ` (${hints.map((h) => h.charAt(0).toLowerCase() + h.slice(1)).join('; ')})` : ''
  const help = cmd.parent ? `zinc ${cmd.name()} --help` : 'zinc --help'
  return `zinc: ${what}${hint}. Usage: ${usageLine(cmd)} (${help} for every option and examples)\n`
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

// Imported by tests for its helpers: run only as the program.
if (process.argv[1] && /[\\/](main\.js|zinc(\.js)?)$/.test(process.argv[1])) await main(process.argv)
