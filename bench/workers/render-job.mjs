// The CPU-heavy application handler of the `workers` scenario: 20 ms of pure computation per
// message (a render, a parse, an export). The same function runs inline on the root's thread or
// in its worker pool, so the two runs differ only in where it runs.
const WORK_MS = 20

export default function render(message) {
  const { sentUs, n } = message.json()
  const t0 = performance.now()
  let x = n
  while (performance.now() - t0 < WORK_MS) for (let i = 0; i < 1000; i++) x = (x * 1103515245 + 12345) % 2147483648
  return { sentUs, x }
}
