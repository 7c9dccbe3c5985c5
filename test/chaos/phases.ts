/**
 * The phases every chaos run goes through, whatever its cluster (run.ts: one tree;
 * sharded-run.ts: hosts and forests): a baseline window, the seeded faults, everything healed,
 * the writers stopped, then quiescence — polled until the members agree or the limit passes.
 */
import type { Line, MemberProcess } from './member-process.js'
import { Nemesis, type NemesisOptions, type Targets } from './nemesis.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Every member's answer (a paused or hung one answers nothing within 5 s). */
export type Statuses = Map<string, Line | undefined>

/** Asks every member. */
export async function ask(cluster: { members: MemberProcess[] }, command: 'status' | 'dump'): Promise<Statuses> {
  const answers = await Promise.all(cluster.members.map((m) => m.ask(command, command, 5_000)))
  return new Map(cluster.members.map((m, i) => [m.name, answers[i]]))
}

/**
 * A baseline window of one peer timeout without faults, then the nemesis's faults, each healed,
 * then the writers told to stop. `started` gets the nemesis as soon as it exists (the caller's
 * clean-up writes its faults even when a phase throws). Resolves to when the writers stopped.
 */
export async function faultsThenQuiet(cluster: Targets & { writers: MemberProcess[] }, options: Omit<NemesisOptions, 'maxDown'>, t0: number, started: (nemesis: Nemesis) => void): Promise<number> {
  await sleep(options.peerTimeoutMs)
  const nemesis = new Nemesis(cluster, { ...options, maxDown: 2 }, t0)
  started(nemesis)
  await nemesis.run()
  await nemesis.healAll()
  const quietAt = Date.now()
  for (const w of cluster.writers) w.send('stop-writing')
  return quietAt
}

/** Asks for every member's status each second until `agreed` says they agree, or `limitMs` after `quietAt`. */
export async function quiesce(cluster: { members: MemberProcess[] }, agreed: (statuses: Statuses) => boolean, quietAt: number, limitMs: number): Promise<{ converged: boolean; quiesceMs: number }> {
  const deadline = quietAt + limitMs
  let converged = false
  while (!converged && Date.now() < deadline) {
    await sleep(1_000)
    converged = agreed(await ask(cluster, 'status'))
  }
  return { converged, quiesceMs: Date.now() - quietAt }
}
