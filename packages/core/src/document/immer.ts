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
