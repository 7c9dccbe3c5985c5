import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dist = (p: string) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url))

describe('examples run on their own', () => {
  it('embed: a host and three clients converge in one process', async () => {
    const { stdout } = await run(process.execPath, [dist('embed/main.js')], { timeout: 60_000 })
    expect(stdout).toMatch(/root has 9 notes at seq 9; every replica equal: true/)
    expect(stdout).toMatch(/presence seen by alan: \[\{"cursor":\[10,20\],"name":"ada"\}\]/)
  })

  it('validate: a zod schema in the validate hook refuses the change that breaks it, with the reason', async () => {
    const { stdout } = await run(process.execPath, [dist('validate/main.js')], { timeout: 60_000 })
    expect(stdout).toMatch(/good change sequenced at seq 1/)
    expect(stdout).toMatch(/rejected: .*the board would not fit its schema: .*Too small/)
    expect(stdout).toMatch(/at cards\[1\]\.title/)
    expect(stdout).toMatch(/bad change: refused by the schema/)
    expect(stdout).toMatch(/cards on the board: Write the README\n/)
  })

  it('workers: the same handler inline and in a worker pool, the compiled module loaded from dist', async () => {
    const { stdout } = await run(process.execPath, [dist('workers/main.js'), '--renders', '10'], { timeout: 60_000 })
    expect(stdout).toMatch(/^inline {5}: 10 renders of 20 ms done; meanwhile \d+ changes confirmed/m)
    expect(stdout).toMatch(/^worker pool: 10 renders of 20 ms done; meanwhile \d+ changes confirmed/m)
  })
})
