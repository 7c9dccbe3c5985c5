export { etcd, EtcdCoordinator, type EtcdCoordinatorOptions } from './etcd-coordinator.js'
export { EtcdUnreachableError } from './errors.js'
