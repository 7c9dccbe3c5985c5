import { useCallback, useRef, useSyncExternalStore } from 'react'

/** Compares a selected value with the last one; `Object.is` by default. */
export type Equality<T> = (a: T, b: T) => boolean

/**
 * useSyncExternalStore with a selector and an equality: the component re-renders only when
 * the selected part changed (by `equal`), however often the source changes. The selected
 * value is recomputed only when the source value or the selector changed.
 */
export function useSelected<V, T>(subscribe: (onChange: () => void) => () => void, read: () => V, select: (value: V) => T, equal: Equality<T> = Object.is): T {
  const last = useRef<{ value: V; select: (value: V) => T; selected: T } | undefined>(undefined)
  const getSnapshot = useCallback((): T => {
    const value = read()
    const prev = last.current
    if (prev && prev.value === value && prev.select === select) return prev.selected
    const selected = select(value)
    if (prev && equal(prev.selected, selected)) {
      last.current = { value, select, selected: prev.selected }
      return prev.selected
    }
    last.current = { value, select, selected }
    return selected
  }, [read, select, equal])
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot)
}

/** Equal when both are arrays (or objects) with the same items by `Object.is`: for selectors that build a new array or object each time. */
export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (const k of ka) if (!Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false
  return true
}
