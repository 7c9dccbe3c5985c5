import * as fs from 'node:fs'
import { dirname } from 'node:path'

/**
 * `mkdir -p` without `fs.mkdirSync(…, { recursive: true })`, which loops forever on paths the
 * kernel refuses with ENOENT although their parent exists (e.g. under /proc, Node 20).
 */
export function makeDirectory(path: string): void {
  try {
    fs.mkdirSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (!fs.statSync(path).isDirectory()) throw Object.assign(new Error(`${path} is a file`), { code: 'ENOTDIR' })
      return
    }
    const parent = dirname(path)
    if (code !== 'ENOENT' || parent === path || fs.existsSync(parent)) throw error
    makeDirectory(parent)
    fs.mkdirSync(path)
  }
}
