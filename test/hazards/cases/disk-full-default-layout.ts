// The same full disk as disk-full-embedded, in the default layout: the embedded LMDB store lives
// on the full disk too (<data>/store), so the speed layer's commits fail as well. The process
// must live through it (it used to die on lmdb-js's unhandled commit failure), refuse ingest
// with 507, and count every acknowledged event exactly once after space is freed.
import { diskFullCase } from './disk-full-embedded.ts'

export default diskFullCase(
  'disk-full-default-layout',
  "the data folder's disk (a 6 MiB tmpfs holding the log and the LMDB store) fills up under strata start; space is freed later",
  true,
)
