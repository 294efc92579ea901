// Damage to an LMDB store's data.mdb as a disk or a careless copy would do it, for the tests and
// the hazard case of a damaged store (issue 11). Offsets as in src/store/lmdb-check.ts.
import { open, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'

export type LmdbDamage = 'truncated' | 'meta-page' | 'data-page'

export async function damageLmdbStore(storeDir: string, kind: LmdbDamage): Promise<string> {
  const file = join(storeDir, 'data.mdb')
  const handle = await open(file, 'r+')
  try {
    const meta = Buffer.alloc(4096 * 2)
    await handle.read(meta, 0, meta.length, 0)
    const psize = meta.readUInt32LE(48)
    // The newer meta page and the root page of the main tree it names.
    const newer = meta.readBigUInt64LE(152) >= meta.readBigUInt64LE(psize + 152) ? 0 : psize
    const root = Number(meta.readBigUInt64LE(newer + 136))
    if (kind === 'truncated') {
      // Cut the tail: what a copy interrupted half-way or a full disk leaves behind. At least the
      // last two pages, and always through the main tree's root page: the last pages alone may be
      // free ones no tree reaches (then nothing was lost and the store is rightly opened).
      const { size } = await stat(file)
      await truncate(file, Math.max(2 * psize, Math.min(size - 2 * psize, root * psize)))
      return `truncated data.mdb from ${size} bytes`
    }
    if (kind === 'meta-page') {
      // One changed byte in the magic of both meta pages.
      for (const page of [0, 1]) await handle.write(Buffer.from([0x00]), 0, 1, page * psize + 26)
      return 'changed one byte of the magic of both meta pages'
    }
    // The root page of the main tree (named by the newer meta page): its flags say it is an
    // overflow page, which LMDB reports as MDB_CORRUPTED on the first read through it.
    await handle.write(Buffer.from([0x04, 0x00]), 0, 2, root * psize + 18)
    return `changed the flags of the root page ${root}`
  } finally {
    await handle.close()
  }
}
