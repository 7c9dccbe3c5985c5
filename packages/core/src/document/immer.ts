import { enablePatches, Immer } from 'immer'

// Patches are what Zinc sends; the plugin is global in immer, so enabling it here is enough.
enablePatches()

/**
 * Zinc's own immer instance, so an application's global immer settings cannot change how
 * documents behave. Auto-freeze stays on: states handed to applications are immutable.
 */
export const immer = new Immer({ autoFreeze: true })
export const produceWithPatches: Immer['produceWithPatches'] = immer.produceWithPatches.bind(immer)
export const applyPatches: Immer['applyPatches'] = immer.applyPatches.bind(immer)
export const produce: Immer['produce'] = immer.produce.bind(immer)

/**
 * For doc.change only: immer without its freeze, which walks every key of every copy it made
 * (all 400 keys of a map to set one). The change freezes its result itself, walking only what
 * the recipe changed (diff.ts `freezeChanged`); the state it starts from is frozen already.
 */
const unfrozen = new Immer({ autoFreeze: false })
export const produceUnfrozen: Immer['produce'] = unfrozen.produce.bind(unfrozen)
