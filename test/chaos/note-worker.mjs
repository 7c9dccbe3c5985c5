// The application handler every chaos member runs in a worker thread (issue 20): a digest of
// each writer's note, a few milliseconds of CPU. Faults (SIGKILL, restarts, failovers) must not
// make it fail, and it must not disturb what the chaos checks.
import { createHash } from 'node:crypto'

export default function digest(message) {
  let h = message.text()
  for (let i = 0; i < 2000; i++) h = createHash('sha256').update(h).digest('hex')
  return h
}
