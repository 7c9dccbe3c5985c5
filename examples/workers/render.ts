// render.ts — the handler module: `handle('render', { worker })` runs it in a worker thread.
import type { WorkerMessageHandler } from '@zinc/core'

/** 20 ms of computation per message, standing in for rendering a thumbnail. */
const render: WorkerMessageHandler<{ n: number }, { n: number; checksum: number }> = (message) => {
  const started = performance.now()
  let x = message.payload.n
  while (performance.now() - started < 20) x = (x * 1103515245 + 12345) % 2147483648
  return { n: message.payload.n, checksum: x }
}
export default render
