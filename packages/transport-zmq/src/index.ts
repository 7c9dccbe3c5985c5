/**
 * @zinc/transport-zmq — the ZeroMQ transport of Zinc (zeromq.js v6): tcp://, ipc://,
 * inproc://, CURVE encryption and a ZAP allow-list of client keys.
 */
export { ZmqTransport } from './zmq-transport.js'
export type { AuthRefusal, ZmqTransportEvents } from './zmq-transport.js'
export type { ZmqConnectOptions, ZmqLogger, ZmqTransportOptions } from './options.js'
export { generateKeyPair } from './curve.js'
export type { CurveClientOptions, CurveKeyPair, CurveOptions, CurveServerOptions } from './curve.js'
export { ZmqChannel, ZmqPubChannel, ZmqPullChannel, ZmqPushChannel, ZmqSubChannel } from './channels.js'
export type { ChannelKind, HandshakeFailure } from './handshake-monitor.js'
export type { ZmqTransportStats } from './stats.js'
export { SUPPORTED_SCHEMES } from './address.js'
