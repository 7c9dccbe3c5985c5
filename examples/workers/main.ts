/**
 * A CPU-heavy handler inline, then in a worker pool: a host renders 30 messages of 20 ms each
 * while a client tries to make a change every 10 ms and times each until the host confirms it.
 * Inline, the renders hold the event loop (here one process runs both endpoints): timers fire
 * late and few changes are made. In the pool the loop stays free.
 *
 *   npm run workers [-- --renders 30]
 */
import { parseArgs } from 'node:util'
import { Endpoint } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import render from './render.js'

const { values } = parseArgs({ options: { renders: { type: 'string', default: '30' } } })
const RENDERS = Number(values.renders)

async function run(mode: 'inline' | 'worker pool'): Promise<void> {
  const transport = new InprocTransport(new InprocNetwork())
  const host = await Endpoint.start({ transport, bind: { inbound: 'inproc://host-in', outbound: 'inproc://host-out' } })
  const client = await Endpoint.start({ transport, bind: { inbound: 'inproc://client-in', outbound: 'inproc://client-out' }, join: host.addresses })
  let rendered = 0
  if (mode === 'inline') {
    host.handle<{ n: number }>('render', (message, context) => {
      render(message, context)
      rendered++
    })
  } else {
    await host.handle('render', { worker: new URL('./render.js', import.meta.url), onResult: () => void rendered++ })
  }
  const doc = await client.open<{ edits: number }>('notes', { initial: { edits: 0 } })
  // A change every 10 ms, each timed until the host has sequenced it, until the renders are done.
  const waits: number[] = []
  const changes: Array<Promise<unknown>> = []
  let late = 0
  const editing = (async () => {
    while (rendered < RENDERS) {
      const made = performance.now()
      const fragment = doc.change((d) => void (d.edits += 1))
      if (fragment) changes.push(fragment.confirmed.then(() => waits.push(performance.now() - made)))
      await new Promise((resolve) => setTimeout(resolve, 10))
      late = Math.max(late, performance.now() - made - 10)
    }
  })()
  for (let n = 0; n < RENDERS; n++) await client.publish('render', { n })
  await editing
  await Promise.all(changes)
  console.log(
    `${mode.padEnd(11)}: ${rendered} renders of 20 ms done; meanwhile ${waits.length} changes confirmed (slowest ${Math.max(...waits).toFixed(0)} ms), a 10 ms timer up to ${late.toFixed(0)} ms late`,
  )
  await client.close()
  await host.close()
}

await run('inline')
await run('worker pool')
