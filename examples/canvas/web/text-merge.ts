/**
 * Merging one person's typing with what others typed meanwhile, for a text field that shows a
 * document's string (the canvas's notes, the board's cards). The document merges concurrent
 * edits itself (they are text operations); these keep an open editor's text and caret right
 * while the person's own latest keystrokes are not in the document yet.
 */

/** Where `pos` in `before` is in `after`, when `after` replaced one range of `before`. */
export function rebase(before: string, after: string, pos: number): number {
  const max = Math.min(before.length, after.length)
  let p = 0
  while (p < max && before.charCodeAt(p) === after.charCodeAt(p)) p++
  let s = 0
  while (s < max - p && before.charCodeAt(before.length - 1 - s) === after.charCodeAt(after.length - 1 - s)) s++
  if (pos <= p) return pos
  if (pos >= before.length - s) return pos + after.length - before.length
  return after.length - s
}

/**
 * Three-way merge of one person's edit with others': `mine` is `base` with one range replaced
 * (what was typed here and not yet in the document), `theirs` the document's text now.
 */
export function merge(base: string, mine: string, theirs: string): string {
  if (mine === base) return theirs
  if (theirs === base) return mine
  const max = Math.min(base.length, mine.length)
  let p = 0
  while (p < max && base.charCodeAt(p) === mine.charCodeAt(p)) p++
  let s = 0
  while (s < max - p && base.charCodeAt(base.length - 1 - s) === mine.charCodeAt(mine.length - 1 - s)) s++
  const inserted = mine.slice(p, mine.length - s)
  const from = rebase(base, theirs, p)
  const to = Math.max(from, rebase(base, theirs, base.length - s))
  return theirs.slice(0, from) + inserted + theirs.slice(to)
}
