/**
 * Z85 (ZeroMQ RFC 32) encoding of CURVE keys. ZAP requests carry a client's public key as
 * 32 raw bytes, while every key a user configures is the 40-character Z85 text that
 * `curveKeyPair()` prints, so the allow-list is compared in Z85.
 */

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#'

/** Encodes bytes whose length is a multiple of 4 (a CURVE key is 32 bytes) as Z85 text. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError(`Z85 encodes multiples of 4 bytes, got ${bytes.length}`)
  let out = ''
  for (let i = 0; i < bytes.length; i += 4) {
    // Multiply instead of shifting: `<< 24` would overflow into a negative int32.
    let value = (bytes[i] ?? 0) * 0x1000000 + ((bytes[i + 1] ?? 0) << 16) + ((bytes[i + 2] ?? 0) << 8) + (bytes[i + 3] ?? 0)
    const chunk: string[] = []
    for (let j = 0; j < 5; j++) {
      chunk.unshift(ALPHABET[value % 85] ?? '')
      value = Math.floor(value / 85)
    }
    out += chunk.join('')
  }
  return out
}

/** True for a well-formed Z85 CURVE key: 40 characters of the Z85 alphabet. */
export function isZ85Key(key: unknown): key is string {
  if (typeof key !== 'string' || key.length !== 40) return false
  for (const ch of key) if (!ALPHABET.includes(ch)) return false
  return true
}
