/**
 * @zinc/cli — the `zinc` command. The binary is `dist/main.js`; this module exports its
 * building blocks for tests and for embedding (a stats server or Prometheus text of your own
 * endpoint).
 */
export { parseAddress, parseAddressPair, parseStatsTarget, type AddressUse, type StatsTarget } from './addresses.js'
export { CliError } from './errors.js'
export { describeFrames, describePatch, formatTailLine, shortId, shortValue, summarizePatches, type BadFrameRecord, type PatchLike, type TailRecord } from './format.js'
export { createLogger, formatLogLine, LOG_FORMATS, LOG_LEVELS, type CliLogLevel, type LogFormat, type LoggingOptions } from './logging.js'
export { escapeLabel, formatNumber, formatPrometheus, type HistogramSnapshot, type MetricsContext, type MetricsInput } from './metrics.js'
export { curveOptions, type CurveFlags } from './options.js'
export { startStatsServer, type ShardsView, type StatsServer, type StatsSnapshot } from './stats-server.js'
export { formatHeartbeatText, formatStatsText, type HeartbeatView } from './stats-view.js'
export { openStorage, storageOptions } from './storage.js'
export { decodeBatch, decodeHeartbeat, decodeRefusal, decodeRoster, uuidOf } from './wire.js'
