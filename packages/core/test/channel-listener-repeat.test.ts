import { expect, it } from 'vitest'
import { ChannelListener } from '../dist/runtime/channel-listener.js'
import { encodeMessage, type Message } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { newEndpointId } from '../dist/ids.js'
import { silentLogger } from '../dist/logger.js'
import type { ReceiveChannel } from '../dist/transport.js'

/** A channel that yields the given frames, one array at a time, then ends. */
function channelOf(frames: Uint8Array[][], before?: (i: number) => void): ReceiveChannel {
  return {
    address: 'test://',
    closed: false,
    close: async () => {},
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < frames.length; i++) {
        before?.(i)
        yield frames[i]!
      }
    },
  }
}

async function listen(channel: ReceiveChannel): Promise<Message[]> {
  const got: Message[] = []
  const listener = new ChannelListener(channel, { name: 'parent', frames: 1, maxMessageBytes: 1 << 20, logger: silentLogger, onBadFrame: () => {}, deliver: (m) => void got.push(m) })
  listener.start()
  await listener.done
  return got
}

const parent = newEndpointId()
const beat = (epoch: number) => encodeMessage({ kind: Kind.HEARTBEAT, origin: parent, epoch })

it('the same small frame again is the same message, taken without decoding it again', async () => {
  const got = await listen(channelOf([[beat(1)], [beat(1)], [beat(2)], [beat(1)]]))
  expect(got.map((m) => m.epoch)).toEqual([1, 1, 2, 1])
  expect(got[1]).toBe(got[0]) // remembered
  expect(got[3]).not.toBe(got[0]) // only the last frame is remembered
})

it('a transport that reuses the memory of a frame it handed over does not get the old message back', async () => {
  // One buffer, overwritten between reads (as a pooling transport could): epoch 1, then 2.
  const buffer = beat(1)
  const second = beat(2)
  const got = await listen(channelOf([[buffer], [buffer]], (i) => i === 1 && buffer.set(second)))
  expect(got.map((m) => m.epoch)).toEqual([1, 2])
  // And what was delivered first still reads as it did (decoded from the listener's own copy).
  expect(got[0]!.raw[0]).toBe(beat(1)[0])
  expect(got[0]!.epoch).toBe(1)
})
