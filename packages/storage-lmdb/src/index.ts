export { LmdbStorage, DATA_FILE, DEFAULT_DURABILITY, DEFAULT_GROUP_COMMIT_MS, type Durability, type LmdbStorageOptions } from './lmdb-storage.js'
export { LOCK_FILE } from './lock.js'
export { FORMAT_VERSION } from './records.js'
