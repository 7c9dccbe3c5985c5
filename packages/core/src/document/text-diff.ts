import fastDiff from 'fast-diff'

// A changed string as text edits: fast-diff's ranges, each lone insertion or deletion slid to
// natural boundaries (alignEdits); and whether the change is a rewrite, which replaces the
// value instead of merging character by character (isRewrite).

export function textEdits(before: string, after: string): fastDiff.Diff[] {
  return alignEdits(fastDiff(before, after))
}

/**
 * Whether a new string rewrites the old one rather than edits it: something was inserted and
 * more of the old text was deleted than kept ("c3#15" → "c0#20", a field set to a new value).
 * Merging two concurrent rewrites character by character gives text neither author wrote
 * ("c30#1520"), so a rewrite replaces the value, and the later of two concurrent ones wins,
 * as a map's set does in Yjs. Typing (only insertions, only deletions, or a few characters
 * replaced in a longer text) stays a text edit and merges.
 */
export function isRewrite(edits: fastDiff.Diff[]): boolean {
  let kept = 0
  let deleted = 0
  let inserted = 0
  for (const [type, s] of edits) {
    if (type === fastDiff.EQUAL) kept += s.length
    else if (type === fastDiff.DELETE) deleted += s.length
    else inserted += s.length
  }
  return inserted > 0 && deleted > kept
}

/**
 * A diff of two strings is ambiguous where the typed text repeats its surroundings: typing
 * "(b)" between "(a)" and "(c)" can be read as inserting "b)(" after "(a)(". Locally the
 * result is the same; under concurrency it is not (someone else's insert at that place
 * would land inside a word). Like diff-match-patch's semantic lossless cleanup, each lone
 * insertion or deletion between two unchanged runs slides to where its edges fall on the
 * most natural boundaries, and where it keeps brackets balanced. Only the 64 characters
 * either side are considered.
 */
function alignEdits(diffs: fastDiff.Diff[]): fastDiff.Diff[] {
  for (let i = 0; i < diffs.length; i++) {
    const [type, edited] = diffs[i]!
    if (type === fastDiff.EQUAL) continue
    const prev = diffs[i - 1]
    const next = diffs[i + 1]
    // A lone insertion or deletion (not half of a replacement).
    if ((prev && prev[0] !== fastDiff.EQUAL) || (next && next[0] !== fastDiff.EQUAL)) continue
    const left = prev ? prev[1] : ''
    const right = next ? next[1] : ''
    const keepLeft = left.slice(0, Math.max(0, left.length - 64))
    const keepRight = right.slice(Math.min(right.length, 64))
    const l = [...left.slice(keepLeft.length)]
    const e = [...edited]
    const r = [...right.slice(0, right.length - keepRight.length)]
    // Slide fully left, then try every position to the right.
    while (l.length > 0 && e.length > 0 && l[l.length - 1] === e[e.length - 1]) {
      r.unshift(e.pop()!)
      e.unshift(l.pop()!)
    }
    let best = { score: -1, l: l.join(''), e: e.join(''), r: r.join('') }
    for (;;) {
      const leftChar = l.length > 0 ? l[l.length - 1] : [...keepLeft.slice(-2)].pop()
      const rightChar = r.length > 0 ? r[0] : [...keepRight.slice(0, 2)][0]
      const score = edgeScore(leftChar, e[0]) + edgeScore(e[e.length - 1], rightChar) + (balanced(e) ? 3 : 0)
      if (score > best.score) best = { score, l: l.join(''), e: e.join(''), r: r.join('') }
      if (r.length === 0 || e[0] !== r[0]) break
      l.push(e.shift()!)
      e.push(r.shift()!)
    }
    const newLeft = keepLeft + best.l
    const newRight = best.r + keepRight
    if (prev) prev[1] = newLeft
    else if (newLeft) {
      diffs.splice(i, 0, [fastDiff.EQUAL, newLeft])
      i++
    }
    diffs[i] = [type, best.e]
    if (next) next[1] = newRight
    else if (newRight) diffs.splice(i + 1, 0, [fastDiff.EQUAL, newRight])
  }
  return diffs.filter(([, s]) => s.length > 0)
}

const OPENING = '([{<⟨«“‘'
const CLOSING = ')]}>⟩»”’'

function balanced(chars: string[]): boolean {
  let depth = 0
  for (const c of chars) {
    if (OPENING.includes(c)) depth++
    else if (CLOSING.includes(c) && --depth < 0) return false
  }
  return depth === 0
}

/** How natural a boundary between two characters is (diff-match-patch's scale). */
function edgeScore(before: string | undefined, after: string | undefined): number {
  if (before === undefined || after === undefined) return 6
  const space1 = /\s/.test(before)
  const space2 = /\s/.test(after)
  if (before === '\n' || after === '\n') return 4
  if (space1 || space2) return space2 && !space1 && /[^\p{L}\p{N}\s]/u.test(before) ? 3 : 2
  if (CLOSING.includes(before) || OPENING.includes(after)) return 2
  if (/[^\p{L}\p{N}]/u.test(before) || /[^\p{L}\p{N}]/u.test(after)) return 1
  return 0
}
