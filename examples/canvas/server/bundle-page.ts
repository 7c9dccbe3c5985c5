/** One page's esbuild bundle, as the examples' pages are built (ESM for today's browsers, minified, with a source map). */
import { build, type BuildOptions } from 'esbuild'

export async function bundlePage(entry: string, outfile: string, extra: BuildOptions = {}): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify: true,
    logLevel: 'warning',
    legalComments: 'none',
    ...extra,
  })
}
