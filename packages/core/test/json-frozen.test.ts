import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeJson, decodeJsonFrozen, MAX_VALUE_DEPTH } from '../dist/protocol/json.js'

const bytes = (text: string) => new TextEncoder().encode(text)

function everyContainerFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  if (!Object.isFrozen(value)) return false
  return Object.values(value).every(everyContainerFrozen)
}

const safeJson = fc.jsonValue().filter((value) => !/"(__proto__|constructor|prototype)":/.test(JSON.stringify(value)))

describe('decodeJsonFrozen', () => {
  it('gives the same value as JSON.parse, frozen all the way down', () => {
    fc.assert(
      // fast-check likes to try "__proto__" and "constructor" as keys: values with those are refused (second test).
      fc.property(safeJson, (value) => {
        const text = JSON.stringify(value)
        const decoded = decodeJsonFrozen(bytes(text), 'x')
        expect(decoded).toEqual(JSON.parse(text))
        expect(everyContainerFrozen(decoded)).toBe(true)
      }),
    )
  })

  it('rejects what decodeJson rejects, with the same error', () => {
    const deep = '['.repeat(MAX_VALUE_DEPTH + 1) + ']'.repeat(MAX_VALUE_DEPTH + 1)
    for (const text of ['{', '{"__proto__":1}', '{"a":{"constructor":2}}', deep, '\u00ff']) {
      const input = text === '\u00ff' ? new Uint8Array([0xff]) : bytes(text)
      expect(() => decodeJsonFrozen(input, 'snapshot state')).toThrow()
      let expected = ''
      try {
        decodeJson(input, 'snapshot state')
      } catch (error) {
        expected = (error as Error).message
      }
      expect(() => decodeJsonFrozen(input, 'snapshot state')).toThrow(expected)
    }
  })
})
