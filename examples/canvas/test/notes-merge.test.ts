/**
 * The note editor's caret and merge rules (examples/canvas/web/notes.ts): when someone else's
 * typing arrives while this person has typed something not yet in the document, both are kept,
 * and the caret stays where it was in the text.
 */
import { describe, expect, it } from 'vitest'
import { merge, rebase } from '../web/notes.js'

describe('note editor', () => {
  it('rebase moves a position with the text around it', () => {
    expect(rebase('hello world', 'hello brave world', 2)).toBe(2) // before the insert
    expect(rebase('hello world', 'hello brave world', 8)).toBe(14) // after it
    expect(rebase('hello world', 'hello brave world', 11)).toBe(17) // at the end
    expect(rebase('hello brave world', 'hello world', 9)).toBe(6) // inside a deleted range: to its end
    expect(rebase('', 'abc', 0)).toBe(0)
  })

  it("merge keeps both people's typing", () => {
    expect(merge('hello world', 'hello world!', 'hello brave world')).toBe('hello brave world!')
    expect(merge('hello world', 'Oh, hello world', 'hello world, bye')).toBe('Oh, hello world, bye')
    expect(merge('abc', 'abc', 'abXc')).toBe('abXc') // nothing typed here
    expect(merge('abc', 'aYbc', 'abc')).toBe('aYbc') // nothing from others
    expect(merge('hello world', 'hello', 'hello world and more')).toBe('hello and more') // a deletion here, an insert there
  })
})
