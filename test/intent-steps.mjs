// One random change with one intent, made through plain `doc.change` recipes on a board of
// `{ items: [{ id, marks }], text }`: shared by the in-process property test (intent.test.ts)
// and the ZeroMQ worker processes (intent-worker.mjs), so both check the same thing. Plain
// JavaScript because the worker processes run it without a build step.

/** Tokens are bracketed so a cut or an interleaving is visible. */
export const tokensOf = (text) => text.match(/⟨[^⟨⟩]*⟩/g) ?? []

/**
 * Makes one random change on `doc` (its visible state, as the author sees it) and returns
 * what it meant, with the fragment (undefined when the recipe changed nothing).
 */
export function randomStep(doc, tag, random) {
  const state = doc.state
  const n = state.items.length
  const pick = random()
  const made = (intent, fragment) => (fragment ? { ...intent, fragment } : undefined)
  if (pick < 0.2 || n === 0) {
    const id = `e${tag}`
    const at = Math.floor(random() * (n + 1))
    return made(
      { kind: 'insert', id },
      doc.change((d) => void d.items.splice(at, 0, { id, marks: {} })),
    )
  }
  const index = Math.floor(random() * n)
  const id = state.items[index].id
  if (pick < 0.3)
    return made(
      { kind: 'remove', id },
      doc.change((d) => void d.items.splice(index, 1)),
    )
  if (pick < 0.4) {
    const to = Math.floor(random() * n)
    return made(
      { kind: 'move', id },
      doc.change((d) => {
        const [el] = d.items.splice(index, 1)
        d.items.splice(to, 0, el)
      }),
    )
  }
  if (pick < 0.6) {
    const mark = `m${tag}`
    return made(
      { kind: 'edit', id, mark },
      doc.change((d) => void (d.items[index].marks[mark] = true)),
    )
  }
  const tokens = tokensOf(state.text)
  if (pick < 0.88 || tokens.length === 0) {
    // Type a token between two tokens (or at an end), as an assignment of the whole string.
    const token = `⟨${tag}⟩`
    const slot = Math.floor(random() * (tokens.length + 1))
    const text = [...tokens.slice(0, slot), token, ...tokens.slice(slot)].join('')
    return made(
      { kind: 'type', token, after: tokens[slot - 1], before: tokens[slot] },
      doc.change((d) => void (d.text = text)),
    )
  }
  const token = tokens[Math.floor(random() * tokens.length)]
  return made(
    { kind: 'erase', token },
    doc.change((d) => void (d.text = d.text.replace(token, ''))),
  )
}
