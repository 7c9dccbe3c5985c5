#!/usr/bin/env node
// The `zinc` command as npm should link it: this file is in the source tree, so it exists when
// `npm ci` links bins (before the root `prepare` builds dist/), and npm makes it executable.
import { existsSync } from 'node:fs'

const main = new URL('../dist/main.js', import.meta.url)
if (!existsSync(main)) {
  process.stderr.write('zinc: the CLI is not built yet (packages/cli/dist/main.js is missing). Run `npx tsc -b` (or `npm run build`) at the repository root.\n')
  process.exit(1)
}
await import(main.href)
