import * as ot from '../packages/core/dist/document/ot.js'
