/**
 * Bundles the board page (examples/board/web, React + TSX) with esbuild, as the canvas page is
 * bundled: at server start, into a folder the canvas server serves at /board/.
 */
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundlePage } from '../../canvas/server/bundle-page.js'

/** examples/board/web, from examples/dist/board/server (compiled) — the sources are not copied. */
export const BOARD_WEB_DIR = fileURLToPath(new URL('../../../board/web/', import.meta.url))

/** Builds the board bundle into `outDir` (the canvas's public folder + /board). */
export async function buildBoard(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true })
  await bundlePage(join(BOARD_WEB_DIR, 'main.tsx'), join(outDir, 'main.js'), {
    jsx: 'automatic',
    // React's production build (its development build is several times slower).
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  await Promise.all(['index.html', 'style.css'].map((f) => copyFile(join(BOARD_WEB_DIR, f), join(outDir, f))))
}
