// A CPU profile of one phase of a worker (node:inspector), not of its whole life: the crowd
// bench wants the changes' cost in a tab process without its start-up and joins.
//   const p = phaseProfiler(); await p.start(); …; await p.stop('/dir/name.cpuprofile')
import { Session } from 'node:inspector/promises'
import { writeFile } from 'node:fs/promises'

export function phaseProfiler() {
  let session
  return {
    async start() {
      session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 200 })
      await session.post('Profiler.start')
    },
    async stop(file) {
      if (!session) return null
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      session = undefined
      await writeFile(file, JSON.stringify(profile))
      return file
    },
  }
}
