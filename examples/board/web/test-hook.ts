/**
 * `window.__board`: a hook for the e2e test and for poking around in the console. The test
 * acts through the page (keyboard, buttons); it reads what the document holds through here.
 */
import type { Document, Endpoint } from '@zinc/core'
import type { IdbLeafStorage } from '@zinc/storage-idb'
import type { NetSwitch } from '../../canvas/web/net.js'
import { initialBoard, type Board } from './model.js'
import { BOARD_DOC } from './session.js'

export function installTestHook(endpoint: Endpoint, leafStorage: IdbLeafStorage, net: NetSwitch): void {
  let doc: Document<Board> | undefined
  // A handle of its own on the board (the page's components share another): reading only.
  void endpoint.open<Board>(BOARD_DOC, { initial: initialBoard(), timeoutMs: 120_000 }).then(
    (d) => (doc = d),
    () => undefined,
  )
  const hook = {
    get ready() {
      return doc !== undefined && document.querySelector('main') !== null
    },
    id: endpoint.id,
    state: () => doc?.state,
    seq: () => doc?.seq ?? 0,
    pending: () => doc?.pendingCount ?? 0,
    status: () => doc?.status,
    connected: () => endpoint.connected,
    setOffline: (offline: boolean) => net.setOffline(offline),
    keptPending: async () => (await leafStorage.load(BOARD_DOC as never))?.record.pending.length ?? -1,
    /** The board as shown: list titles, and each list's card texts in order. */
    shown: () =>
      [...document.querySelectorAll<HTMLElement>('section.list')].map((s) => ({
        id: s.dataset.list,
        title: s.querySelector<HTMLTextAreaElement>('.list-title')?.value ?? '',
        cards: [...s.querySelectorAll<HTMLElement>('li.card')].map((c) => ({ id: c.dataset.card, text: c.querySelector('textarea')?.value ?? '' })),
      })),
  }
  Object.assign(window, { __board: hook })
}
