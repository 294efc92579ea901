// Which fields of an event a view reads: what lets the batch layer decode only those fields from
// the master dataset's columnar cache (docs/master-dataset.md) instead of whole events. Derived
// from the view definition itself, so views stay defined once; when it cannot be derived safely,
// the answer is null and the view gets whole events, as before.
//
// The functions that see the raw event are the filter steps before the first map, that map, and,
// with no map, the key function and what the aggregate's add() passes its input to (known for the
// built-in monoids only: monoid.ts, inputReadersOf). A windowed view also reads its time field.
//
// A function's fields are read from its source text, and only a function that provably can touch
// the event in no other way than `param.field` (or `param?.field`) qualifies:
// - its source is `(p) => …`, `p => …`, `function [name](p) {…}` or has no parameter at all;
// - every occurrence of the parameter's name, wherever it is in the text (strings and comments
//   included, which can only make the check stricter), is followed by `.name` or `?.name`, unless
//   it is itself a property name: right after a `.` (`x.p`, `x?.p`; not a spread `...p`, and not
//   after a space, which could end a comment such as `// Only page views.` before real code);
// - no field is written (`p.f = …`, `p.f++`, `delete p.f`, `for (p.f of …)`, also with comments or
//   parentheses in between: `(p.f) = …`, `p.f /* c */ = …`; and no destructuring assignment at
//   all, whose targets could be fields);
// - the parameter is not used inside a nested function (an arrow, `function`, a class, or a
//   method or accessor of an object literal, any `) {` in the text): such a closure could read
//   the object after the call returned (kept in a variable, called for a later event). Any of
//   those in the text makes the function unanalysed, whether or not the closure uses it;
// - no field name is one an object inherits (toString, hasOwnProperty, __proto__, …), since
//   those would see the object rather than a field;
// - no `eval`, `arguments` or `\u` escape (which could name the parameter without its letters),
//   and no native or bound function (its text hides what it reads).
// Such a function computes exactly what it would on the whole event when it is given any object
// with the same values in those fields: it cannot observe the other fields, nor their absence,
// nor the object's identity or key order; and it can neither keep the object (it never names it
// alone) nor change it. So the batch layer may hand such views one object per record layout,
// refilled for each record (master-dataset/packed-cursor.ts), instead of a fresh one per event.

import { inputReadersOf } from './monoid.ts'
import type { View } from './view.ts'

const IDENT = /^[A-Za-z_$][\w$]*$/
const ARROW = /^\s*(?:\(\s*([A-Za-z_$][\w$]*)?\s*\)|([A-Za-z_$][\w$]*))\s*=>/
const FUNCTION = /^\s*function\s*[A-Za-z_$]?[\w$]*\s*\(\s*([A-Za-z_$][\w$]*)?\s*\)\s*\{/
// What may stand between an access and the operator that writes it: spaces, comments, and
// parentheses (`(p.f) = 1`, `delete (p.f)` and `(p.f)++` write p.f).
const GAP = String.raw`(?:\s|/\*[\s\S]*?\*/|//[^\n]*\n)*`
const WRITE_AFTER =
  /^(?:[\s)]|\/\*[\s\S]*?\*\/|\/\/[^\n]*\n)*(?:=(?![=>])|(?:of|in)\b|[-+*/%&|^]=|\*\*=|<<=|>>>?=|&&=|\|\|=|\?\?=|\+\+|--)/
const WRITE_BEFORE = /(?:\+\+|--|\bdelete)(?:[\s(]|\/\*[\s\S]*?\*\/|\/\/[^\n]*\n)*$/
// `] =` and `} =` end a destructuring assignment, whose targets may be fields.
const FORBIDDEN = new RegExp(String.raw`[\]}]${GAP}=(?![=>])|\beval\b|\barguments\b|\\u|\[native code\]`)
// A nested function: an arrow, `function` (also a generator or async one), a class, or a method
// or accessor of an object literal (`m(x) {`, `get f() {`), whose parameter list ends in `) {`.
// Blocks after `if (…)`, `for (…)`, `while (…)` match too: unanalysed, whole events, still exact.
const NESTED = new RegExp(String.raw`=>|\bfunction\b|\bclass\b|\)${GAP}\{`)

/** The fields `fn` reads of its one argument, or null when that cannot be shown (see above). */
export function fieldsOfFunction(fn: (input: any) => unknown): string[] | null {
  let source: string
  try {
    source = Function.prototype.toString.call(fn)
  } catch {
    return null
  }
  if (FORBIDDEN.test(source)) return null
  const head = ARROW.exec(source) ?? FUNCTION.exec(source)
  if (head === null) return null
  const param = head[1] ?? head[2]
  if (param === undefined) return []
  const body = source.slice(head[0].length)
  const fields = new Set<string>()
  const occurrence = new RegExp(
    `(?<![\\w$\\u0080-\\uffff])${param.replace(/\$/g, '\\$')}(?![\\w$\\u0080-\\uffff])`,
    'g',
  )
  // A closure over the parameter could keep the object (see above).
  if (NESTED.test(body) && body.search(occurrence) !== -1) return null
  for (const match of body.matchAll(occurrence)) {
    const at = match.index
    // A property name (`x.p`, `x?.p`) is not the parameter; a spread (`...p`) is. Only a `.` right
    // before the name makes it one: `.` then spaces may be the end of a comment before real code.
    if (body[at - 1] === '.' && body[at - 2] !== '.') continue
    const access = /^\s*\??\.\s*([A-Za-z_$][\w$]*)(?![\w$\u0080-\uffff])/.exec(body.slice(at + param.length))
    if (access === null) return null
    // A field written (`p.f = …`, `p.f += …`, `p.f++`, `++p.f`, `delete p.f`) changes the event.
    if (WRITE_AFTER.test(body.slice(at + param.length + access[0].length))) return null
    if (WRITE_BEFORE.test(body.slice(0, at))) return null
    const field = access[1]!
    if (!IDENT.test(field) || field in Object.prototype || field === '__proto__') return null
    fields.add(field)
  }
  return [...fields]
}

/**
 * The fields of the raw event that `view` reads (its time field included when windowed), sorted;
 * null when they cannot be derived safely and the view must be given whole events.
 */
export function fieldsRead(view: View<any, any, any>, timeField: string): string[] | null {
  const readers: Array<(input: any) => unknown> = []
  let mapped = false
  for (const step of view.steps) {
    readers.push(step.fn)
    if (step.kind === 'map') {
      mapped = true
      break
    }
  }
  if (!mapped) {
    if (view.keyFn === undefined || view.monoid === undefined) return null
    readers.push(view.keyFn)
    const monoidReaders = inputReadersOf(view.monoid)
    if (monoidReaders === undefined) return null
    readers.push(...monoidReaders)
  }
  const fields = new Set<string>()
  for (const reader of readers) {
    const read = fieldsOfFunction(reader)
    if (read === null) return null
    for (const f of read) fields.add(f)
  }
  if (view.timeWindow !== null) {
    // An object literal would take this key as its prototype: leave such a view whole events.
    if (timeField === '__proto__') return null
    fields.add(timeField)
  }
  return [...fields].sort()
}

/** The fields a set of views reads together, or null when one of them needs whole events. */
export function unionOfFields(sets: ReadonlyArray<readonly string[] | null>): string[] | null {
  const fields = new Set<string>()
  for (const set of sets) {
    if (set === null) return null
    for (const f of set) fields.add(f)
  }
  return [...fields].sort()
}

// `(p) => p.field` or `p => p.field`, nothing else (no `?.`, no body, no comment).
const FIELD_READ =
  /^\s*(?:\(\s*([A-Za-z_$][\w$]*)\s*\)|([A-Za-z_$][\w$]*))\s*=>\s*([A-Za-z_$][\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)\s*$/

/**
 * The field a key function returns as it is, when its whole source is `(p) => p.field` (and the
 * checks above pass: not a name every object inherits), else null. For such a function, two
 * records with the same string in that field have the same key, and a string is its own key
 * (monoid.ts, itemOf): what lets the batch fold tell keys apart by their dictionary ids.
 */
export function keyFieldOf(fn: (input: any) => unknown): string | null {
  const fields = fieldsOfFunction(fn)
  if (fields === null || fields.length !== 1) return null
  const match = FIELD_READ.exec(Function.prototype.toString.call(fn))
  if (match === null || (match[1] ?? match[2]) !== match[3] || match[4] !== fields[0]) return null
  return fields[0]
}

// `(p) => p.field === 'text'` or `!==`, the text in single or double quotes with no backslash or
// line break in it (so that the source text is the string's value), nothing else.
const LITERAL_TEST =
  /^\s*(?:\(\s*([A-Za-z_$][\w$]*)\s*\)|([A-Za-z_$][\w$]*))\s*=>\s*([A-Za-z_$][\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)\s*(===|!==)\s*(?:'([^'\\\r\n]*)'|"([^"\\\r\n]*)")\s*$/

/** A filter that compares one field of the event with a string literal (literalTestOf). */
export interface LiteralTest {
  field: string
  literal: string
  /** true for `===`, false for `!==`. */
  equal: boolean
}

/**
 * The test a filter makes, when its whole source is `(p) => p.field === 'text'` (or `!==`) and the
 * checks of fieldsOfFunction pass; else null. Such a function is pure: its answer depends on that
 * field's value only, and is true for `===` exactly when the value is that very string. So the
 * batch fold may decide it once per string of a segment's dictionary (batch/column-fold.ts).
 * The text must be well-formed UTF-16, so that a string the dictionaries keep as JSON (a lone
 * surrogate, master-dataset/packed-segment.ts) can never equal it.
 */
export function literalTestOf(fn: (input: any) => unknown): LiteralTest | null {
  const fields = fieldsOfFunction(fn)
  if (fields === null || fields.length !== 1) return null
  const match = LITERAL_TEST.exec(Function.prototype.toString.call(fn))
  if (match === null || (match[1] ?? match[2]) !== match[3] || match[4] !== fields[0]) return null
  const literal = (match[6] ?? match[7]) as string
  if (!literal.isWellFormed()) return null
  return { field: fields[0], literal, equal: match[5] === '===' }
}
