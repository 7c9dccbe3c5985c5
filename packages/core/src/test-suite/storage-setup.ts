import type { EndpointId } from '../ids.js'
import type { Storage, StoredFragment, StoredSnapshot } from '../storage.js'

/** What a storage adapter gives the storage conformance suite, fresh for each test. */
export interface StorageSuiteSetup {
  /** An open, empty store. */
  storage: Storage
  /**
   * Opens the same data again. The suite calls it only after it closed `storage` (and any store
   * an earlier `reopen` returned), so an adapter that locks its files can open them again.
   * Omit it for adapters where nothing survives `close()` (the durability tests are skipped).
   */
  reopen?: () => Promise<Storage>
  /** Runs after each test, once the suite closed every store it got; removes temp dirs etc. */
  teardown?: () => Promise<void>
}

export const ORIGIN_A = '6f1c2b9e-3a4d-4c5e-8f70-112233445566' as EndpointId
export const ORIGIN_B = '0a0b0c0d-0e0f-4a1b-9c2d-3e4f5a6b7c8d' as EndpointId

/** A deterministic envelope for `seq`: varied length, every byte value appears across seqs. */
export function envelopeFor(seq: number, size = 16 + (seq % 48)): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (seq * 31 + i * 7) & 0xff
  return bytes
}

export function fragment(seq: number, options: { origin?: EndpointId; clientSeq?: number; envelope?: Uint8Array } = {}): StoredFragment {
  return {
    seq,
    origin: options.origin ?? (seq % 2 === 0 ? ORIGIN_A : ORIGIN_B),
    clientSeq: options.clientSeq ?? seq * 3,
    envelope: options.envelope ?? envelopeFor(seq),
  }
}

/** Fragments `from..to` inclusive. */
export function fragments(from: number, to: number): StoredFragment[] {
  const out: StoredFragment[] = []
  for (let seq = from; seq <= to; seq++) out.push(fragment(seq))
  return out
}

export function snapshot(seq: number, state: unknown = { seq }): StoredSnapshot {
  return {
    seq,
    state: new TextEncoder().encode(JSON.stringify(state)),
    clientSeqs: [
      [ORIGIN_A, seq * 3],
      [ORIGIN_B, seq * 3 - 1],
    ],
  }
}

/** Plain comparable shape of fragments (Uint8Array → number[] so diffs are readable). */
export function plain(list: readonly StoredFragment[]): Array<{ seq: number; origin: string; clientSeq: number; envelope: number[] }> {
  return list.map((f) => ({ seq: f.seq, origin: f.origin, clientSeq: f.clientSeq, envelope: [...f.envelope] }))
}

export function plainSnapshot(s: StoredSnapshot | undefined): unknown {
  if (!s) return undefined
  return { seq: s.seq, state: [...s.state], clientSeqs: s.clientSeqs.map(([o, c]) => [o, c]).sort() }
}

export function seqs(list: readonly StoredFragment[]): number[] {
  return list.map((f) => f.seq)
}
