export { LmdbStorage, DATA_FILE } from './lmdb-storage.js'
export { DEFAULT_DURABILITY, DEFAULT_GROUP_COMMIT_MS, type Durability, type LmdbStorageOptions } from './storage-options.js'
export { LOCK_FILE } from './lock.js'
export { FORMAT_VERSION } from './records.js'
