/**
 * @zinc/transport-ws — Zinc over WebSocket, so a browser tab can be an endpoint.
 *
 * `WsServerTransport` (Node, on `ws`) binds `ws://host:port/path` and also connects;
 * `WsClientTransport` (`@zinc/transport-ws/browser`) only connects, with the global WebSocket.
 * Wire format and semantics: this package's README.md.
 */
export { WsServerTransport, type WsServerTransportOptions, type WsTlsOptions } from './server-transport.js'
export { GUARD_DEFAULTS, sameOrigin, type WsGuardOptions } from './connection-guard.js'
export { newSession, SESSION_PARAM } from './session.js'
export { WsClientTransport, type WsClientTransportOptions } from './browser.js'
export { WS_DEFAULTS, type WsTransportOptions } from './options.js'
export type { ConnectionState, ConnectionStateChange, WsTransportEvents } from './connection-state.js'
export type { WsTransportStats } from './stats.js'
export type { WsPullChannel } from './pull-channel.js'
export type { WsPubChannel } from './pub-channel.js'
export type { WsBoundChannel } from './bound-channel.js'
export type { WsPushChannel } from './push-channel.js'
export type { WsSubChannel } from './sub-channel.js'
export type { WsClientChannel, StateListener } from './client-channel.js'
export type { WebSocketConstructor } from './websocket-like.js'
export { SUBPROTOCOL, MAX_TOPIC_BYTES, MAX_SUBSCRIPTIONS } from './framing.js'
