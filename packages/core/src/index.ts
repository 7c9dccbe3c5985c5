/**
 * @zinc/core — real-time collaborative documents over a host-client tree.
 * Public API: DESIGN.md, "Public API (contract)".
 */
export { Endpoint, type OpenOptions, type MessageMap, type PublishOptions } from './endpoint/endpoint.js'
export type { Role, EndpointEvents } from './endpoint/node.js'
export { DEFAULTS, type EndpointOptions, type EndpointAddresses, type JoinRequest, type AccessRequest, type Verdict } from './endpoint/options.js'
export type { Coordinator, CoordinatedMember, Leader } from './endpoint/coordinator.js'
export type { Peer } from './endpoint/roster.js'
export type { ServerHooks, ChangeRequest, ChangeEvent, LoadRequest, StoreRequest } from './endpoint/hooks.js'
export { realClock, type Clock, type TimerHandle } from './runtime/clock.js'
export { PayloadEncoding, type AppMessage, type HandlerContext, type MessageHandler } from './endpoint/app-messages.js'
export type { WorkerHandlerOptions, WorkerMessageHandler } from './endpoint/app-handlers.js'
export { workerFunction, type WorkerFunction, type WorkerFunctionOptions } from './runtime/worker-function.js'
export type { WorkerThreadOptions } from './runtime/worker-options.js'
export { Document, type ChangeListener, type ChangeOptions, type DocumentEvents, type DocumentStatus, type DocumentChange } from './document/document.js'
export type { DocumentFragment } from './document/fragment.js'
export type { Presence } from './document/presence.js'
export type { EndpointStats, RefusalReason, WorkerCounters } from './runtime/stats.js'
export { LATENCY_BUCKETS_MS, type Histogram } from './runtime/histogram.js'
export type { RateLimit } from './runtime/rate-limit.js'
export { decodeMessage, encodeMessage, type Message, type MessageInit } from './protocol/codec.js'
export { Kind, kindName, peekKind, PROTOCOL_VERSION } from './protocol/kinds.js'
export { CONTROL_TOPIC, docTopic, endpointTopic } from './protocol/topics.js'
export { decodePatches, encodePatches } from './protocol/patches.js'
export { decodeFragmentBody, encodeOp, type FragmentBody } from './protocol/ops.js'
export { applyOp, transformOp, composeOps, invertOp, opComponents, type Op, type OpComponent } from './document/ot.js'
export { diffToOp } from './document/diff.js'
export {
  AccessCodec,
  BatchCodec,
  HeartbeatCodec,
  HelloCodec,
  OpenCodec,
  RefusalCodec,
  RosterCodec,
  SnapshotCodec,
  WelcomeCodec,
  type Access,
  type Batch,
  type Heartbeat,
  type Hello,
  type Open,
  type Refusal,
  type Roster,
  type Snapshot,
  type Welcome,
} from './protocol/payloads.js'
/** immer's draft type, so apps can type recipes (`(d: Draft<Canvas>) => …`) without depending on immer. */
export type { Draft } from 'immer'
export { TypedEmitter, EventSource, type EventMap, type Listener } from './events.js'
export { consoleLogger, silentLogger, type Logger, type LogLevel } from './logger.js'
export { newEndpointId, isEndpointId, isValidDocId, type DocId, type EndpointId } from './ids.js'
export * from './errors.js'
export type * from './transport.js'
export { checkAppendBatch, type Storage, type StoredDocument, type StoredFragment, type StoredSnapshot, type TreeRecord } from './storage.js'
export { MemoryStorage } from './memory-storage.js'
export { isLeafSnapshot, type LeafStorage, type LeafDocument, type LeafState, type LeafSnapshot, type LeafPendingChange, type LeafSentCopy } from './leaf-storage.js'
export { MemoryLeafStorage } from './memory-leaf-storage.js'
export { keyed, bucketPath, LEVELS as KEYED_LEVELS, FAN as KEYED_FAN, type Keyed } from './document/keyed.js'
