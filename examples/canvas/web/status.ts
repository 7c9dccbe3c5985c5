/**
 * What the page tells the person about the connection: the status bar, the banner while the
 * server is away (with the retry countdown and the number of changes kept), and toasts.
 *
 * The connection is judged by what arrives, not by socket events alone: the parent heartbeats
 * every 250 ms, so silence for `SILENT_MS` means it is away, and any message means it is back
 * (also when the endpoint re-joins a restarted server, where no `parent-back` event comes).
 */
import { LeafStorageError, type Endpoint, type Role } from '@zinc/core'
import { $, type App } from './app.js'
import type { NetSwitch } from './net.js'

export type Connection = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'failed'

/** Silence from the parent after which the page says it is away (heartbeats come every 250 ms). */
const SILENT_MS = 1200

export class Status {
  role: Role | '–' = '–'
  failed: string | undefined
  #joined = false
  #endpoint: Endpoint | undefined
  #toastTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly app: App,
    readonly net: NetSwitch,
  ) {}

  /**
   * Follows the endpoint's role. Not its roster: a tab is a leaf, and a leaf's `peers` lists
   * only the endpoints of its level that can be promoted (none, for tabs on one server). Who
   * is here comes from presence (`update`): everyone present, and how many are in view.
   */
  follow(endpoint: Endpoint): void {
    this.#joined = true
    this.#endpoint = endpoint
    this.role = endpoint.role
    const dirty = () => {
      this.app.dirty.status = true
      this.app.requestFrame()
    }
    endpoint.on('role', (r) => ((this.role = r), dirty()))
    endpoint.on('parent-lost', dirty)
    endpoint.on('parent-back', dirty)
    endpoint.on('error', (error) => (error instanceof LeafStorageError ? this.notice(error.message) : this.toast(error.message, 'warn')))
  }

  /** A warning that stays until dismissed (the local copy was unusable: the person should know). */
  notice(message: string): void {
    const el = $('notice')
    const text = $('notice-text')
    text.textContent = text.textContent ? `${text.textContent} ${message}` : message
    el.hidden = false
    $('notice-close').onclick = () => {
      el.hidden = true
      text.textContent = ''
    }
  }

  connection(): Connection {
    if (this.failed) return 'failed'
    if (this.net.offline) return 'offline'
    // Started without waiting for the server: until it first answers, this tab is connecting
    // (unless the server is known to be unreachable: then the banner says so).
    if (!this.#joined || (!this.#endpoint?.connected && this.net.lastMessageAt === 0 && this.net.unreachableSince === undefined)) return 'connecting'
    return performance.now() - this.net.lastMessageAt < SILENT_MS ? 'connected' : 'reconnecting'
  }

  /** Refreshes the status bar and the banner (called from the animation frame; `crowd`: the counts the overlay last drew). */
  update(crowd: { people: number; inView: number }): void {
    const { app } = this
    const doc = app.doc
    const conn = this.connection()
    const away = conn === 'reconnecting' || conn === 'offline'
    const label = { connecting: 'connecting', connected: 'connected', reconnecting: 'reconnecting', offline: 'reconnecting (offline)', failed: 'failed' }[conn]
    setText('st-conn', label)
    $('st-conn').className = `conn ${conn}`
    setText('st-role', this.role)
    // Everyone present counts this person too; in view, only the others' cursors drawn.
    setText('st-people', String(doc ? crowd.people + (app.endpoint && doc.presence.get().has(app.endpoint.id) ? 1 : 0) : 0))
    setText('st-inview', String(crowd.inView))
    // While away, the counts are the last ones heard: say so.
    for (const id of ['st-inview', 'st-people', 'st-role']) {
      const el = $(id)
      el.classList.toggle('stale', away)
      el.title = away ? 'last known: the server is unreachable' : ''
    }
    setText('st-seq', String(doc?.seq ?? 0))
    setText('st-shapes', app.scene.entries.size.toLocaleString('en'))
    setText('st-pending', String(doc?.pendingCount ?? 0))
    setText('st-board', `board "${app.board}"`)
    $<HTMLButtonElement>('undo').disabled = !doc?.canUndo
    $<HTMLButtonElement>('redo').disabled = !doc?.canRedo
    $<HTMLButtonElement>('delete').disabled = app.ui.selected.size === 0
    this.#banner(conn, doc?.pendingCount ?? 0)
  }

  #banner(conn: Connection, pending: number): void {
    const banner = $('banner')
    if (conn !== 'reconnecting' && conn !== 'offline') {
      banner.hidden = true
      return
    }
    const kept = pending > 0 ? `your ${pending} change${pending === 1 ? ' is' : 's are'} kept and will be sent` : 'your changes are kept and will be sent'
    let text: string
    if (conn === 'offline') text = `You are offline (Go online to reconnect): ${kept} when you are back.`
    else {
      const wait = Math.max(0, Math.ceil((this.net.nextAttemptAt() - performance.now()) / 1000))
      text = `Server unreachable: ${kept} when it is back. ${wait > 0 ? `Retrying in ${wait} s…` : 'Retrying now…'}`
    }
    setText('banner', text)
    banner.hidden = false
  }

  toast(message: string, kind: 'info' | 'warn' = 'info'): void {
    const el = $('toast')
    el.textContent = message
    el.className = kind
    el.hidden = false
    clearTimeout(this.#toastTimer)
    this.#toastTimer = setTimeout(() => (el.hidden = true), 3500)
  }
}

export function setText(id: string, text: string): void {
  const el = $(id)
  if (el.textContent !== text) el.textContent = text
}
