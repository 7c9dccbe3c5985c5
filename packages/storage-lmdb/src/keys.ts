// The key layout of a store. Keys are lmdb's ordered-binary arrays, so a document's log is one
// range scan: ['f', doc, seq] → fragment record, ['s', doc] → newest snapshot, ['d', doc] →
// document index (its snapshot seq), ['t'] → tree record, ['#zinc'] → format marker.

export const MARKER_KEY = ['#zinc']
export const MAX_SEQ = Number.MAX_SAFE_INTEGER
export type Key = Array<string | number>
export const fKey = (doc: string, seq: number): Key => ['f', doc, seq]
export const sKey = (doc: string): Key => ['s', doc]
export const dKey = (doc: string): Key => ['d', doc]
/** The tree record (one per store). */
export const TREE_KEY: Key = ['t']
