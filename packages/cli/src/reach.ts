import { connect } from 'node:net'
import { CliError } from './errors.js'

/**
 * Checks that something listens at a ZeroMQ address before subscribing to it: a ZeroMQ SUB
 * connects lazily and would wait forever in silence for a node that is not there. tcp and ipc
 * are probed with a plain socket connect (the connection is closed at once; ZeroMQ ignores it).
 */
export async function assertReachable(address: string, timeoutMs: number, hint: string): Promise<void> {
  let target: { host: string; port: number } | { path: string }
  const tcp = /^tcp:\/\/(.+):(\d+)$/.exec(address)
  if (tcp) target = { host: tcp[1]!.replace(/^\[(.*)\]$/, '$1').replace(/^\*$/, '127.0.0.1'), port: Number(tcp[2]) }
  else if (address.startsWith('ipc://')) target = { path: address.slice('ipc://'.length) }
  else return
  await new Promise<void>((resolve, reject) => {
    const socket = connect(target)
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs)
    function fail(why: string) {
      clearTimeout(timer)
      socket.destroy()
      reject(new CliError(`Cannot reach ${address}: ${why}. ${hint}`))
    }
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ECONNREFUSED' ? 'connection refused (nothing listens there)' : error.code === 'ENOENT' ? 'no such socket file' : (error.code ?? error.message)
      fail(why)
    })
  })
}
