import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Keeps the crowd bench of issue 19 working (bench/scenarios/crowds.mjs, not part of `npm run
// bench`): one relay with leaves, a tree of relays, and an edge with WebSocket leaves in other
// processes, at a tiny size. The full sizes (1,000 tabs, 10,000 endpoints) are the bench's;
// ZINC_STRESS=1 runs the 1,000-tab edge here too. Never asserts a time: only that every leaf got
// every change, that the root knows its tree's size from its relays, and that the root handled
// its relays' traffic only, never the leaves'.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const STRESS = process.env.ZINC_STRESS === '1'
const WS = STRESS ? '1000,10' : '40,2'

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(root, 'bench', 'scenarios', 'crowds.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('crowds bench, small', () => {
  it('a relay with leaves, a tree of relays and an edge with WebSocket tabs: every leaf gets the change, the root hears its relays only', { timeout: 300_000 }, async () => {
    const { code, stdout, stderr } = await run(['--smoke', '--sizes', '20', '--tree', '3,15', '--ws', WS])
    expect(code, stderr.slice(-4000)).toBe(0)
    const [one, edge, tree] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))

    // root → 1 relay → 20 leaves: each leaf got one roster (the whole one, at its join), not one per later joiner.
    expect(one.endpoints).toBe(22)
    expect(one.rosterFramesPerLeaf).toBeLessThan(2)
    expect(one.rootDescendants).toBe(21)
    expect(one.presenceMovers).toBe(10)

    // The edge: every tab saw every change; none was refused as busy.
    const [tabs] = WS.split(',').map(Number)
    expect(edge.delivered).toBe(1)
    expect(edge.refusedBusy).toBe(0)
    expect(edge.edgeReceived.OPEN).toBeGreaterThanOrEqual(tabs)

    // root → 3 relays → 15 leaves each: the root counts 48 below it from its 3 relays' reports,
    // and what it received came from them (a hello, an open, their heartbeats, one change,
    // their presence batches), none of the 45 leaves' hellos, opens or presence.
    expect(tree.endpoints).toBe(49)
    expect(tree.rootDescendants).toBe(48)
    const got = tree.rootReceived as Record<string, number>
    expect(got.FRAGMENT).toBeGreaterThanOrEqual(1)
    expect(got.HELLO ?? 0).toBeLessThan(45)
    expect(got.OPEN ?? 0).toBeLessThan(45)
    expect(tree.rootPresenceFrames).toBeLessThan(tree.presenceMovers)
  })
})
