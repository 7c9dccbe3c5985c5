/**
 * Every failure a caller can act on has its own class, and every message says what happened
 * and what to do about it. All extend `ZincError`, so `err instanceof ZincError` separates
 * Zinc's errors from bugs.
 */

export class ZincError extends Error {
  /** A stable machine-readable code, e.g. `ERR_CHANNEL_CLOSED`. */
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A send or receive on a channel that was closed. */
export class ChannelClosedError extends ZincError {
  constructor(address: string, operation = 'send') {
    super('ERR_CHANNEL_CLOSED', `Cannot ${operation} on the channel ${address}: it is closed. Open a new channel, or stop using this one after close().`)
  }
}

/** Binding an address that another channel already holds. */
export class AddressInUseError extends ZincError {
  constructor(readonly address: string) {
    super('ERR_ADDRESS_IN_USE', `Cannot bind ${address}: the address is already in use. Close the channel holding it, or bind another address (a tcp port of "*" picks a free one).`)
  }
}

/** Connecting to an address where nothing is bound (only transports that can know this). */
export class AddressNotFoundError extends ZincError {
  constructor(readonly address: string) {
    super('ERR_ADDRESS_NOT_FOUND', `Cannot connect to ${address}: nothing is bound there. Start the endpoint that binds it first, or check the address.`)
  }
}

/** An address that could not be bound or parsed, with the cause from below. */
export class BindError extends ZincError {
  constructor(
    readonly address: string,
    cause: unknown,
  ) {
    super(
      'ERR_BIND',
      `Cannot bind ${address}: ${describe(cause)}. Check that the address is well formed (tcp://host:port, ipc:///path, inproc://name), that the interface exists and the port is free.`,
      { cause },
    )
  }
}

/** An address that could not be connected to, with the cause from below. */
export class ConnectError extends ZincError {
  constructor(
    readonly address: string,
    cause: unknown,
  ) {
    super('ERR_CONNECT', `Cannot connect to ${address}: ${describe(cause)}. Check the address and that the peer is running.`, { cause })
  }
}

/** An address whose scheme the transport does not speak. */
export class UnsupportedAddressError extends ZincError {
  constructor(
    readonly address: string,
    transport: string,
    supported: string[],
  ) {
    super('ERR_UNSUPPORTED_ADDRESS', `The ${transport} transport cannot use ${address}: it speaks ${supported.join(', ')}. Use one of those, or another transport.`)
  }
}

/** A message larger than the configured limit. */
export class MessageTooLargeError extends ZincError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super('ERR_MESSAGE_TOO_LARGE', `A message of ${bytes} bytes exceeds maxMessageBytes (${limit}). Split the change into smaller ones, or raise maxMessageBytes on every endpoint.`)
  }
}

/** A frame that could not be decoded or validated; counted and dropped by listeners. */
export class BadFrameError extends ZincError {
  constructor(readonly reason: string) {
    super('ERR_BAD_FRAME', `Dropped a malformed frame: ${reason}.`)
  }
}

/** Any call on an endpoint or document after `close()`. */
export class ClosedError extends ZincError {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed. Start a new one; a closed object cannot be reused.`)
  }
}

/** The parent did not answer a join in time, or is not a Zinc endpoint. */
export class JoinTimeoutError extends ZincError {
  constructor(
    readonly address: string,
    ms: number,
  ) {
    super(
      'ERR_JOIN_TIMEOUT',
      `No Zinc endpoint answered the join at ${address} within ${ms} ms. Check that the address is the inbound/outbound pair of a running Zinc endpoint (host.addresses), and that keys and tokens match.`,
    )
  }
}

/** The parent refused the join (authentication, a loop, a protocol mismatch). */
export class JoinRefusedError extends ZincError {
  /** `refusal`: the parent's refusal code (`ERR_AUTH`, `ERR_LOOP`, …) when it sent one. */
  constructor(
    readonly address: string,
    readonly reason: string,
    readonly refusal = '',
  ) {
    super('ERR_JOIN_REFUSED', `The endpoint at ${address} refused to let this endpoint join: ${reason}.`)
  }
}

/** The root refused an open, read or change of a document (the `authorize` hook). */
export class AccessDeniedError extends ZincError {
  constructor(
    readonly doc: string,
    readonly action: string,
    reason: string,
  ) {
    super('ERR_ACCESS_DENIED', `Not allowed to ${action} document "${doc}": ${reason}. Ask the host's operator for access.`)
  }
}

/**
 * A parent refused to open a document for a reason other than access: its stored copy is
 * damaged (`ERR_STORAGE_CORRUPT`), the initial value is not acceptable (`ERR_BAD_VALUE`), or
 * it is too large to send (`ERR_TOO_LARGE`). `code` is the refusal code from PROTOCOL.md.
 */
export class DocumentRefusedError extends ZincError {
  constructor(
    /** The document that was refused. */
    readonly doc: string,
    code: string,
    /** The parent's reason, which says what to do. */
    readonly reason: string,
  ) {
    super(code, `Document "${doc}" could not be opened: ${reason}.`)
  }
}

/** The root did not sequence a change: it did not apply, or was not authorized. */
export class ChangeRejectedError extends ZincError {
  constructor(
    readonly doc: string,
    readonly clientSeq: number,
    reason: string,
  ) {
    super(
      'ERR_CHANGE_REJECTED',
      `Change #${clientSeq} on document "${doc}" was rejected by the root and rolled back locally: ${reason}. Re-read doc.state and make the change again if it still applies.`,
    )
  }
}

/** Something waited too long (open, synced). */
export class TimeoutError extends ZincError {
  constructor(what: string, ms: number, hint: string) {
    super('ERR_TIMEOUT', `${what} did not complete within ${ms} ms. ${hint}`)
  }
}

/** An argument that cannot be used. */
export class InvalidArgumentError extends ZincError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message)
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends ZincError {
  constructor(what: string) {
    super('ERR_ABORTED', `${what} was aborted by its AbortSignal.`)
  }
}

/**
 * A server hook (`validate`, `onChange`, `onLoad`, `onStore`) threw, rejected, or did not
 * answer within `hookTimeoutMs`. What it was guarding is refused (a change, an open) or
 * retried (a store); the endpoint keeps serving.
 */
export class HookError extends ZincError {
  constructor(
    /** The hook's option name. */
    readonly hook: string,
    /** True when it did not answer in time. */
    readonly timedOut: boolean,
    /** What went wrong (the hook's error message), or the timeout in ms. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      timedOut ? 'ERR_HOOK_TIMEOUT' : 'ERR_HOOK',
      timedOut
        ? `The ${hook} hook did not answer within ${detail} ms. Make it faster, or raise hookTimeoutMs.`
        : `The ${hook} hook failed: ${detail}. Fix the hook; the endpoint keeps serving meanwhile.`,
      options,
    )
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message
  return String(cause)
}

/** A store whose files fail verification (checksums, format marker, LMDB structure, truncation). */
export class StorageCorruptError extends ZincError {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super('ERR_STORAGE_CORRUPT', `The store at ${path} is damaged (${detail}). Restore it from a backup or move it aside to start empty; Zinc will not load data it cannot verify.`)
  }
}

/** A write that did not fit: the disk, a file-size limit or the store's `maxBytes` quota is full. Nothing of the failed write was stored. */
export class StorageFullError extends ZincError {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(
      'ERR_STORAGE_FULL',
      `The store at ${path} is full (${detail}); the write was not stored and nothing stored before it was changed. Free disk space or raise the limit, then retry (close and reopen the store if it says so).`,
    )
  }
}

/** Another process (or another open store in this one) holds the store's lock. */
export class StorageLockedError extends ZincError {
  constructor(
    readonly path: string,
    readonly pid: number | undefined,
    detail = '',
  ) {
    super(
      'ERR_STORAGE_LOCKED',
      `The store at ${path} is in use by ${pid === undefined ? 'another process' : `process ${pid}`}${detail ? ` (${detail})` : ''}. Only one root may write a store: stop that process, or use another directory. If no such process runs, delete ${path}/zinc.lock.`,
    )
  }
}

/** A data directory that cannot be created, read or written. */
export class StorageAccessError extends ZincError {
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_STORAGE_ACCESS', `Cannot use ${path} as a Zinc store: ${reason}. Choose a directory this process can create and write, or fix its owner and permissions.`, options)
  }
}

/** A write the store failed to commit for a reason other than space (an I/O error); nothing of it was stored. */
export class StorageWriteError extends ZincError {
  constructor(
    readonly path: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_STORAGE_WRITE',
      `Could not write to the store at ${path} (${detail}); the write was not stored. Check the disk (space, file-size limits, hardware errors), then close and reopen the store.`,
      options,
    )
  }
}

/** The parent throttles this endpoint: it sends more than the parent's `childRateLimit`. */
export class RateLimitedError extends ZincError {
  constructor(reason: string) {
    super('ERR_RATE_LIMITED', `The parent is throttling this endpoint: ${reason}. Send fewer changes per second (batch them, or coalesce per animation frame).`)
  }
}

/** A leaf's local store (IndexedDB) could not be read or written: the tab goes on without it for that document. */
export class LeafStorageError extends ZincError {
  constructor(
    readonly doc: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_LEAF_STORAGE',
      `The local copy of "${doc}" ${detail}. This tab goes on without it: changes made offline are not kept across a reload until it works again (check the browser's storage settings and free space).`,
      options,
    )
  }
}

/**
 * A worker-thread handler module that cannot be used: the file is missing, it does not load
 * (a syntax error, a failing import), or it exports no function under the expected name.
 * `handle(kind, { worker })` and `workerFunction(module)` reject with it at registration.
 */
export class HandlerLoadError extends ZincError {
  constructor(
    /** The module's path (or URL when it is not a file). */
    readonly module: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_HANDLER_LOAD',
      `Cannot load the worker handler module ${module}: ${reason}. Check the path (new URL('./file.js', import.meta.url) resolves next to the compiled file, so build first) and that the module exports the handler function.`,
      options,
    )
  }
}

/**
 * A message (or call) a worker thread did not complete. `reason` says how: the handler threw
 * (`threw`), ran past its `timeoutMs` and its thread was terminated (`timeout`), or its thread
 * died under it, on every attempt (`crashed`). The thread is replaced either way and the pool
 * goes on with the next message.
 */
export class WorkerTaskError extends ZincError {
  constructor(
    readonly module: string,
    readonly reason: 'threw' | 'timeout' | 'crashed',
    detail: string,
    /** How many times it ran (more than 1 after a crash was retried). */
    readonly attempts = 1,
    options?: { cause?: unknown },
  ) {
    const what =
      reason === 'threw'
        ? `threw: ${detail}. Fix the handler; the next message goes on`
        : reason === 'timeout'
          ? `ran past its time limit (${detail}); its thread was terminated and replaced. Make it faster or raise timeoutMs`
          : `crashed its worker thread (${detail}) on ${attempts === 1 ? 'its only attempt' : `all ${attempts} attempts`}; the thread was replaced. Look for process.exit, native crashes or memory limits in the handler`
    super(reason === 'timeout' ? 'ERR_WORKER_TIMEOUT' : reason === 'crashed' ? 'ERR_WORKER_CRASHED' : 'ERR_WORKER_THREW', `The worker handler ${module} ${what}.`, options)
  }
}

/**
 * What an endpoint's `error` event carries: a refusal from the parent (access, a document it
 * would not open, throttling, a join refused after the endpoint started) or a server hook
 * that failed at this root.
 */
export type EndpointError = AccessDeniedError | DocumentRefusedError | RateLimitedError | JoinRefusedError | HookError | LeafStorageError

/**
 * The code of the error `Coordinator.checkDocument` rejects with when a document's latest copy
 * is in another host's store (`@zinc/coordinator-etcd`'s StoredElsewhereError, which also says
 * whether that host is running). Not a refusal on the wire: the open is refused ERR_UNAVAILABLE.
 */
export const STORED_ELSEWHERE_CODE = 'ERR_STORED_ELSEWHERE'
