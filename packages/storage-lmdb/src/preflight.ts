/**
 * Checks an LMDB data file before LMDB maps it. LMDB trusts its file: a truncated data.mdb is
 * mapped as is, and touching a page past the end of the file kills the process with SIGBUS. So
 * before opening, the two meta pages are read with plain file I/O and checked: magic, version,
 * page size, and that the file reaches the last page the newest meta says is in use.
 *
 * Layout (lmdb-js's LMDB, 64-bit): each meta page is a 24-byte page header then MDB_meta:
 * magic u32 @24, version u32 @28, address @32, mapsize @40, two MDB_db of 48 bytes @48 (the
 * first one's md_pad @48 is the page size), mm_last_pg u64 @144, mm_txnid u64 @152.
 */
import * as fs from 'node:fs'

const MAGIC = 0xbeefc0de
const DATA_VERSION = 2

interface Meta {
  psize: number
  lastPage: bigint
  txnid: bigint
}

/** Returns a description of what is wrong with `file`, or undefined if it looks sound (or does not exist yet). */
export function checkDataFile(file: string): string | undefined {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const size = fs.fstatSync(fd).size
    if (size === 0) return undefined // created but never written: LMDB initialises it
    const first = readMeta(fd, 0)
    if (typeof first === 'string') return `${first} in meta page 0`
    if (size < 2 * first.psize) return `data.mdb is ${size} bytes, shorter than its two ${first.psize}-byte meta pages (truncated)`
    const second = readMeta(fd, first.psize)
    if (typeof second === 'string') return `${second} in meta page 1`
    const newest = second.txnid > first.txnid ? second : first
    const needed = (newest.lastPage + 1n) * BigInt(first.psize)
    if (BigInt(size) < needed) {
      return `data.mdb is ${size} bytes but its newest commit uses pages up to byte ${needed} (truncated)`
    }
    return undefined
  } finally {
    fs.closeSync(fd)
  }
}

function readMeta(fd: number, offset: number): Meta | string {
  const buf = Buffer.alloc(160)
  const n = fs.readSync(fd, buf, 0, buf.length, offset)
  if (n < buf.length) return 'the file ends inside the meta page (truncated)'
  const magic = buf.readUInt32LE(24)
  if (magic !== MAGIC) return `no LMDB magic (found 0x${magic.toString(16)})`
  const version = buf.readUInt32LE(28)
  if (version !== DATA_VERSION) return `LMDB data version ${version} instead of ${DATA_VERSION}`
  const psize = buf.readUInt32LE(48)
  if (psize < 512 || psize > 65536 || (psize & (psize - 1)) !== 0) return `an invalid page size ${psize}`
  return { psize, lastPage: buf.readBigUInt64LE(144), txnid: buf.readBigUInt64LE(152) }
}
