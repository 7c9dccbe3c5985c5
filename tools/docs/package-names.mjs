// typedoc plugin: names each entry-point module after its package (`@zinc/core`) instead of
// its path (`core/src`), by reading the package.json above the entry point.
import { readFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Converter, ReflectionKind } from 'typedoc'

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const mod of context.project.getChildrenByKind(ReflectionKind.Module)) {
      const file = mod.sources?.[0]?.fullFileName
      if (!file) continue
      let dir = dirname(file)
      while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
      const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name
      if (name) mod.name = name
    }
  })
}
