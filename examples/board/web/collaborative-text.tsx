/**
 * A text field several people type into at once. Each edit is a `doc.change` that sets the
 * text, which Zinc records as a text edit (what was inserted and deleted where), so concurrent
 * typing merges in the document.
 *
 * The field is uncontrolled, and both directions are three-way merges against `base` (the
 * document's text when the field last matched it), never a plain overwrite:
 * - an edit here is applied to the document's text as it is *now* (`edit` gets the current
 *   text), so someone else's typing that arrived since the last render is not erased;
 * - a render that finds the document's text moved (someone else typed) merges it into the
 *   field, and this person's caret and selection move with the text around them. A render
 *   still showing an older state of this tab's own typing (React may commit later than the
 *   next keystroke) changes nothing: the document's current text is read, not the prop.
 */
import { useLayoutEffect, useRef, useState, type TextareaHTMLAttributes } from 'react'
import { merge, rebase } from '../../canvas/web/text-merge.js'

export interface CollaborativeTextProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'value' | 'defaultValue' | 'onChange'> {
  /** The text as this render shows it (a new value re-checks the field). */
  value: string
  /** The document's text now (not as of the render). */
  read: () => string
  /** Changes the document's text to `apply(current text)`. */
  edit: (apply: (current: string) => string) => void
}

export function CollaborativeText({ value, read, edit, maxLength, ...rest }: CollaborativeTextProps) {
  const ref = useRef<HTMLTextAreaElement>(null)
  const base = useRef(value)
  // The first text only: React copies a changed defaultValue into a field not typed in yet,
  // behind the merge's back.
  const [initial] = useState(value)

  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    const current = read()
    if (current === base.current) return
    const mine = el.value
    const merged = merge(base.current, mine, current)
    show(el, mine, merged)
    base.current = current
    // Typing here that the document does not have yet goes in now.
    if (merged !== current) send(merged)
  }, [value])

  const send = (typed: string) => {
    if (typed === base.current) return
    let result = typed
    edit((current) => (result = clip(merge(base.current, typed, current), maxLength)))
    base.current = result
    const el = ref.current
    if (el && el.value !== result) show(el, el.value, result)
  }

  return <textarea ref={ref} defaultValue={initial} maxLength={maxLength} onInput={(e) => send(e.currentTarget.value)} {...rest} />
}

/** Shows `after` in the field, the caret and selection kept where they were in the text. */
function show(el: HTMLTextAreaElement, before: string, after: string): void {
  if (document.activeElement !== el) {
    el.value = after
    return
  }
  const [start, end] = [rebase(before, after, el.selectionStart), rebase(before, after, el.selectionEnd)]
  el.value = after
  el.setSelectionRange(start, end)
}

function clip(text: string, max: number | undefined): string {
  return max !== undefined && max >= 0 ? text.slice(0, max) : text
}
