/**
 * Sticky notes that several people type into at once. The editor is a <textarea> over the note;
 * every keystroke is a plain `doc.change` that assigns the note's new text, which Zinc records
 * as a text edit (what was inserted and deleted where), so concurrent typing merges. When
 * someone else's typing arrives, the textarea takes the merged text and this person's caret
 * and selection move with the text around them.
 */
import { keyed } from '@zinc/core'
import { $, type App } from './app.js'
import { LIMITS } from './model.js'
import { noteBox } from './render.js'
import { merge, rebase } from './text-merge.js'

export { merge, rebase }

export class NoteEditor {
  readonly #el: HTMLTextAreaElement
  #id: string | undefined
  /** The note's text as the document had it when the textarea last matched it. */
  #base = ''

  constructor(readonly app: App) {
    this.#el = $<HTMLTextAreaElement>('note-editor')
    this.#el.maxLength = LIMITS.noteText
    this.#el.addEventListener('input', () => this.#send())
    this.#el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close()
    })
    this.#el.addEventListener('blur', () => this.close())
  }

  get openId(): string | undefined {
    return this.#id
  }

  /** Opens the note for typing, the caret at the end of its text. */
  open(id: string): void {
    const note = this.app.doc && keyed.get(this.app.doc.state.shapes, id)
    if (!note || note.kind !== 'note') return
    this.#id = id
    this.app.beginGroup()
    this.#base = note.text ?? ''
    this.#el.value = this.#base
    this.#el.hidden = false
    this.#place()
    this.#el.focus()
    this.#el.setSelectionRange(this.#base.length, this.#base.length)
  }

  close(): void {
    if (this.#id === undefined) return
    this.#send()
    this.#id = undefined
    this.#el.hidden = true
    this.app.endGroup()
  }

  /** Follows the document: others' typing, the note moving, the note deleted. */
  sync(): void {
    const id = this.#id
    const doc = this.app.doc
    if (id === undefined || !doc) return
    const note = keyed.get(doc.state.shapes, id)
    if (!note) {
      this.#id = undefined
      this.#el.hidden = true
      this.app.notify('The note you were typing in was deleted by someone else.', 'warn')
      return
    }
    this.#place()
    const theirs = note.text ?? ''
    const el = this.#el
    if (theirs === this.#base) return
    // Someone else typed: merge, and keep the caret and selection where they were in the text.
    const mine = el.value
    const merged = merge(this.#base, mine, theirs)
    const [start, end] = [rebase(mine, merged, el.selectionStart), rebase(mine, merged, el.selectionEnd)]
    el.value = merged
    el.setSelectionRange(start, end)
    this.#base = theirs
    if (merged !== theirs) this.#send()
  }

  /** Sends the textarea's text as a change of the note (retried at the next frame when throttled). */
  #send(): void {
    const id = this.#id
    if (id === undefined) return
    const text = this.#el.value.slice(0, LIMITS.noteText)
    if (text === this.#base) return
    // Applied to the note's text as it is now, not as this editor last saw it: someone else's
    // typing that arrived since the last frame is merged, never overwritten.
    let result = text
    let same = false
    const sent = this.app.change((d) => {
      const note = keyed.draftOf(d.shapes, id)
      if (!note) return
      result = merge(this.#base, text, note.text ?? '').slice(0, LIMITS.noteText)
      same = result === (note.text ?? '')
      if (!same) note.text = result
    })
    // Throttled: again at the next try. (Nothing to change: the note already says it.)
    if (!sent && !same) return void setTimeout(() => this.#send(), 100)
    this.#base = result
    const el = this.#el
    if (el.value !== result) {
      const [start, end] = [rebase(el.value, result, el.selectionStart), rebase(el.value, result, el.selectionEnd)]
      el.value = result
      el.setSelectionRange(start, end)
    }
  }

  #place(): void {
    const note = this.#id !== undefined && this.app.doc ? keyed.get(this.app.doc.state.shapes, this.#id) : undefined
    if (!note) return
    const b = noteBox(note)
    const st = this.#el.style
    st.left = `${b.x}px`
    st.top = `${b.y}px`
    st.width = `${Math.max(60, b.w)}px`
    st.height = `${Math.max(40, b.h)}px`
    st.background = note.color
  }
}
