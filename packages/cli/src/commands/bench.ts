import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { CliError } from '../errors.js'

/** Where `bench/run.mjs` may be: the repository this CLI was built in, then the working directory. */
export function benchScriptCandidates(cwd = process.cwd()): string[] {
  const here = dirname(fileURLToPath(import.meta.url)) // packages/cli/dist/commands
  return [...new Set([resolve(here, '../../../../bench/run.mjs'), join(cwd, 'bench', 'run.mjs')])]
}

export function benchCommand(): Command {
  return new Command('bench')
    .summary('run the benchmark harness (bench/run.mjs), passing arguments through')
    .description('Runs `node bench/run.mjs` at the repository root with every argument after `bench` passed through, and exits with its exit code.')
    .argument('[args...]', 'arguments for bench/run.mjs (put them after -- if they look like zinc options)')
    .allowUnknownOption()
    .helpOption('-h, --help', "show this help (bench/run.mjs --help shows the harness's own)")
    .addHelpText(
      'after',
      `
Examples:
  $ zinc bench
  $ zinc bench -- --help          # the harness's own options
  $ npm run bench                 # builds first, then the same
`,
    )
    .action(async (args: string[]) => {
      const script = benchScriptCandidates().find((p) => existsSync(p))
      if (!script) {
        throw new CliError(`zinc bench runs bench/run.mjs at the repository root, and there is none (looked in ${benchScriptCandidates().join(', ')}). Run it from a checkout of the Zinc repository.`)
      }
      const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit', cwd: resolve(dirname(script), '..') })
      const forward = (signal: NodeJS.Signals) => child.kill(signal)
      process.on('SIGINT', forward)
      process.on('SIGTERM', forward)
      process.exitCode = await new Promise<number>((done, fail) => {
        child.once('error', (error) => fail(new CliError(`Cannot start ${script}: ${error.message}`)))
        child.once('exit', (code, signal) => done(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)))
      })
      process.off('SIGINT', forward)
      process.off('SIGTERM', forward)
    })
}
