/**
 * A DOM for the React tests: jsdom's window, with Node's own globals kept. Vitest's `jsdom`
 * environment replaces typed arrays with jsdom's, so the bytes protobufjs makes (Node's) are
 * not `instanceof Uint8Array` there and every frame is dropped; here only what Node lacks is
 * taken from jsdom (as the global-jsdom package does).
 */
import { JSDOM } from 'jsdom'

const dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost/', pretendToBeVisual: true })
const g = globalThis as Record<string, unknown>
for (const key of Object.getOwnPropertyNames(dom.window)) {
  if (key in g || key.startsWith('_')) continue
  g[key] = (dom.window as unknown as Record<string, unknown>)[key]
}
g.window = dom.window
g.document = dom.window.document
g.navigator = dom.window.navigator
g.IS_REACT_ACT_ENVIRONMENT = true
