import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { ZmqTransport } from '../src/index.js'

/**
 * A bound channel listens with a deep queue of pending connections: a crowd joining at once, or
 * a subtree re-joining after a failover, must not overflow it (libzmq's default is 100; a
 * dropped connection waits out TCP's 1 s, 3 s, 7 s retries). The kernel reports a listening
 * socket's queue length in `ss`'s Send-Q column, capped by net.core.somaxconn.
 */

const transports: ZmqTransport[] = []
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
})

function listenQueue(port: number): number | undefined {
  try {
    const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' })
    const fields = out.trim().split(/\s+/)
    return fields.length >= 3 ? Number(fields[2]) : undefined
  } catch {
    return undefined
  }
}

function somaxconn(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))
  } catch {
    return 4096
  }
}

describe('ZmqTransport: the listen queue', () => {
  it('PULL and PUB channels listen with a queue of 4096 pending connections (or the kernel cap)', async (ctx) => {
    const t = new ZmqTransport()
    transports.push(t)
    const pull = await t.pull('tcp://127.0.0.1:*')
    const pub = await t.pub('tcp://127.0.0.1:*')
    const expected = Math.min(4096, somaxconn())
    for (const channel of [pull, pub]) {
      const queue = listenQueue(Number(channel.address.split(':').at(-1)))
      if (queue === undefined) return ctx.skip()
      expect(queue).toBe(expected)
    }
  })
})
