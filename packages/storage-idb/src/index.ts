/**
 * @zinc/storage-idb — offline-first browser tabs: a leaf's replicas and identity in IndexedDB.
 */
export { IdbLeafStorage, type IdbLeafStorageOptions } from './idb-leaf-storage.js'
export { claimIdentity, type Claim, type ClaimPorts } from './identity-claim.js'
