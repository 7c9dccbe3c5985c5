/**
 * Bundles the page (examples/canvas/web) with esbuild into a static folder, at server start,
 * and the board page (examples/board) into its /board folder.
 * The browser code imports @zinc/core and @zinc/transport-ws/browser from their built `dist`.
 */
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundlePage } from './bundle-page.js'
import { buildBoard } from '../../board/server/bundle.js'

/** examples/canvas/web, from examples/dist/canvas/server (compiled) — the sources are not copied. */
export const WEB_DIR = fileURLToPath(new URL('../../../canvas/web/', import.meta.url))
/** examples/dist/canvas/public */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url))

/** Builds the bundle and copies the static files; returns the folder to serve (no trailing slash). */
export async function buildWeb(outDir = PUBLIC_DIR): Promise<string> {
  await mkdir(outDir, { recursive: true })
  await bundlePage(join(WEB_DIR, 'main.ts'), join(outDir, 'main.js'))
  await Promise.all(['index.html', 'style.css', 'favicon.svg'].map((f) => copyFile(join(WEB_DIR, f), join(outDir, f))))
  // The board (examples/board), served next to the canvas at /board/ by the same server and relay.
  await buildBoard(join(outDir, 'board'))
  return outDir.replace(/[\\/]+$/, '')
}
