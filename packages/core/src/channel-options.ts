import { InvalidArgumentError } from './errors.js'
import type { ChannelOptions } from './transport.js'

/** A channel's limits once its options are resolved against its transport's defaults. */
export interface ChannelLimits {
  /** Messages per connection; `Infinity` when the option was 0 (ZeroMQ: no limit). */
  highWaterMark: number
  /** The high-water mark as given (0 = no limit), for libraries that take ZeroMQ's form. */
  rawHighWaterMark: number
  /** Largest inbound message in bytes; `Infinity` when there is no limit. */
  maxMessageBytes: number
}

/**
 * The one options resolver of every transport: the channel's `options` over the transport's
 * `defaults`, checked (a clear `InvalidArgumentError` for a value that cannot work), with
 * ZeroMQ's reading of a high-water mark of 0 as "no limit".
 */
export function resolveChannelOptions(options: ChannelOptions | undefined, defaults: { highWaterMark: number; maxMessageBytes?: number | undefined }): ChannelLimits {
  const rawHighWaterMark = options?.highWaterMark ?? defaults.highWaterMark
  const maxMessageBytes = options?.maxMessageBytes ?? defaults.maxMessageBytes ?? Infinity
  checkCount('highWaterMark', rawHighWaterMark)
  checkPositive('maxMessageBytes', maxMessageBytes)
  return { highWaterMark: rawHighWaterMark === 0 ? Infinity : rawHighWaterMark, rawHighWaterMark, maxMessageBytes }
}

/** Throws unless `value` is a whole number ≥ 0 (0 means no limit where the option says so). */
export function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a whole number ≥ 0 (0 means no limit), got ${value}.`)
  }
}

/** Throws unless `value` is a number > 0 (`Infinity` allowed). */
export function checkPositive(name: string, value: number): void {
  if (!(typeof value === 'number' && value > 0)) {
    throw new InvalidArgumentError(`${name} must be a positive number, got ${value}.`)
  }
}
