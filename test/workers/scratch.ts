import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inprocCluster, type InprocCluster } from '../helpers.js'
import type { EndpointOptions } from '@zinc/core'

/** What one worker test started (a cluster, a folder for the fixtures' files), undone after it. */
export class Scratch {
  cluster: InprocCluster | undefined
  dir: string | undefined

  /** A host and `n` clients on one in-process network. */
  async start(n: number, options: Partial<EndpointOptions> = {}): Promise<InprocCluster> {
    this.cluster = await inprocCluster(n, options)
    return this.cluster
  }

  /** A fresh temporary folder, removed after the test. */
  async folder(prefix: string): Promise<string> {
    this.dir = await mkdtemp(join(tmpdir(), `zinc-${prefix}-`))
    return this.dir
  }

  async cleanup(): Promise<void> {
    await this.cluster?.close()
    this.cluster = undefined
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
    this.dir = undefined
  }
}
