/**
 * Builds member.ts into one ESM file the harness can spawn with plain `node`. The test tree is
 * not compiled by `tsc -b`, so esbuild (already a dev dependency) bundles the member and its
 * local imports; the @zinc packages stay external and resolve to their built dist/ (which
 * `npm test` builds first). The output lives under the git-ignored test-artifacts/.
 */
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const ARTIFACTS = `${ROOT}test-artifacts/chaos`

/** Builds `test/chaos/<entry>.ts` (member.ts, or sharded-member.ts for the sharded mode). */
export async function buildMember(entry = 'member'): Promise<string> {
  const outfile = `${ARTIFACTS}/bin/${entry}.mjs`
  await build({
    entryPoints: [fileURLToPath(new URL(`./${entry}.ts`, import.meta.url))],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  })
  return outfile
}
