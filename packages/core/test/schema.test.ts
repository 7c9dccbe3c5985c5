import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs build script without type declarations
import { schemaSource } from '../scripts/generate-schema.mjs'
import { zincSchema } from '../dist/protocol/schema.generated.js'

describe('schema.generated.ts', () => {
  it('is up to date with proto/zinc.proto (run `node packages/core/scripts/generate-schema.mjs` to refresh)', () => {
    const generated = readFileSync(fileURLToPath(new URL('../src/protocol/schema.generated.ts', import.meta.url)), 'utf8')
    expect(generated).toBe((schemaSource as () => string)())
  })

  it('the built descriptor matches the source file', () => {
    const source = (schemaSource as () => string)()
    const json = source.slice(source.indexOf('=') + 1, source.lastIndexOf(' as const')).trim()
    expect(zincSchema).toEqual(JSON.parse(json))
  })
})
