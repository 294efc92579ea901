// A view's code hash: sha256 over its description (view.describe(): the source text of its
// filter, map and key functions, its window, its aggregate's name, version, parameters and value
// functions) and the source's event-time field. The batch layer stores it with every batch view
// version; a different hash means the definition changed and the view is recomputed.
//
// What the hash sees is source text (Function.prototype.toString), so:
// - any edit to a function, even whitespace or a type annotation, counts as a change (safe side);
// - values a function closes over are NOT hashed: `const min = 10; filter((e) => e.n > min)` keeps
//   its hash when `min` changes. Write such constants inside the function (or in the view name).
import { createHash } from 'node:crypto'
import type { View } from './view.ts'

/** A view and the code hash of its definition, as the store records it and batch threads report it. */
export interface ViewHash {
  view: string
  codeHash: string
}

/** Bumped when the meaning of compiled views changes (key mapping, windowing). */
const HASH_FORMAT = 1

export function codeHash(view: View<any, any, any>, timeField: string): string {
  const text = JSON.stringify({ format: HASH_FORMAT, timeField, view: view.describe() })
  return createHash('sha256').update(text).digest('hex')
}
