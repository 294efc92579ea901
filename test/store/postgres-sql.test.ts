// Every SQL statement of the PostgreSQL store passes values as parameters ($1, $2, ...). The only
// text spliced into SQL is the schema, an identifier (which cannot be a parameter), validated at
// open and quoted by quoteIdent into `db.S`, plus constants of the file itself. This test reads
// the store's source with the TypeScript parser and fails on anything else: a template literal
// holding SQL that interpolates another expression, or SQL built with `+`.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'
import { parseTarget, quoteIdent } from '../../src/store/postgres/connection.ts'

const dir = join(import.meta.dirname, '../../src/store/postgres')
const SQL = /\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|FROM|WHERE|VALUES|TRUNCATE|GRANT)\b/

/** The names a file binds to a literal: `const PAGE = 1000`, `const rowsOf = \`unnest(...)\``. */
function literalConstants(file: ts.SourceFile): Set<string> {
  const names = new Set<string>()
  const visit = (node: ts.Node) => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      (ts.getCombinedNodeFlags(node) & ts.NodeFlags.Const) !== 0 &&
      (ts.isNumericLiteral(node.initializer) ||
        ts.isStringLiteral(node.initializer) ||
        ts.isNoSubstitutionTemplateLiteral(node.initializer))
    ) {
      names.add(node.name.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return names
}

/** A parameter of an enclosing function typed as string literals only: `lock: '' | 'FOR UPDATE'`. */
function isLiteralTypedParameter(identifier: ts.Identifier): boolean {
  for (let node: ts.Node | undefined = identifier.parent; node; node = node.parent) {
    if (!ts.isFunctionLike(node)) continue
    const parameter = node.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === identifier.text)
    if (!parameter) continue
    const type = parameter.type
    const literal = (t: ts.TypeNode) => ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)
    return type !== undefined && (literal(type) || (ts.isUnionTypeNode(type) && type.types.every(literal)))
  }
  return false
}

/**
 * What may be spliced into SQL: the quoted schema (`db.S`, or `S` handed to migrations), constants
 * bound to literals in the store's files, and parameters whose type allows only literals.
 */
function allowed(expression: ts.Expression, constants: Set<string>): boolean {
  const text = expression.getText()
  if (text === 'db.S' || text === 'S' || text === 'this.#db.S') return true
  if (!ts.isIdentifier(expression)) return false
  return constants.has(expression.text) || isLiteralTypedParameter(expression)
}

function parse(fileName: string, source: string): ts.SourceFile {
  return ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true)
}

/** Problems in one file; `shared` holds literal constants the store's other files export. */
function findUnparameterizedSql(fileName: string, source: string, shared = new Set<string>()): string[] {
  const file = parse(fileName, source)
  const constants = new Set([...shared, ...literalConstants(file)])
  const problems: string[] = []
  const where = (node: ts.Node) =>
    `${fileName}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`
  const visit = (node: ts.Node) => {
    if (ts.isTemplateExpression(node) && SQL.test(node.getText())) {
      for (const span of node.templateSpans) {
        if (!allowed(span.expression, constants)) {
          problems.push(`${where(span)}: \${${span.expression.getText()}} spliced into SQL`)
        }
      }
    }
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.PlusToken &&
      [node.left, node.right].some((side) => ts.isStringLiteralLike(side) && SQL.test(side.text))
    ) {
      problems.push(`${where(node)}: SQL built with +`)
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return problems
}

test('the PostgreSQL store splices nothing but the quoted schema and constants into SQL', () => {
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'))
  assert.ok(files.length >= 5, `found the store's files in ${dir}`)
  const sources = files.map((name) => [name, readFileSync(join(dir, name), 'utf8')] as const)
  const shared = new Set(sources.flatMap(([name, source]) => [...literalConstants(parse(name, source))]))
  const problems = sources.flatMap(([name, source]) => findUnparameterizedSql(name, source, shared))
  assert.deepEqual(problems, [])
})

test('the check catches a value spliced into SQL, and SQL built with +', () => {
  // Source text fixtures: `\${` is a literal "${" here, "`" a literal backtick.
  const bad = [
    `const q = (db, view) => db.pool.query(\`SELECT * FROM \${db.S}.batch_views WHERE view = '\${view}'\`)`,
    "const q = (db, view) => db.pool.query('DELETE FROM t WHERE view = ' + view)",
    `let LIMIT = 10; const q = (db) => db.pool.query(\`SELECT 1 FROM \${db.S}.t LIMIT \${LIMIT}\`)`,
    `const q = (db, lock: string) => db.pool.query(\`SELECT 1 FROM \${db.S}.t \${lock}\`)`,
  ]
  for (const source of bad) assert.equal(findUnparameterizedSql('x.ts', source).length, 1, source)
  const good = `const PAGE = 100; const q = (db, v) => db.pool.query(\`SELECT 1 FROM \${db.S}.t WHERE v = $1 LIMIT \${PAGE}\`, [v])`
  assert.deepEqual(findUnparameterizedSql('x.ts', good), [])
  const typed = `const q = (db, lock: '' | 'FOR UPDATE') => db.pool.query(\`SELECT 1 FROM \${db.S}.t \${lock}\`)`
  assert.deepEqual(findUnparameterizedSql('x.ts', typed), [])
})

test('hostile schema names are refused before any SQL is built', () => {
  const hostile = [
    'a;b',
    'x"; DROP SCHEMA public CASCADE; --',
    'Strata',
    '1abc',
    'a b',
    's\u0000',
    'x'.repeat(64),
    'ümlaut',
    '',
  ]
  for (const schema of hostile) {
    assert.throws(
      () => parseTarget('postgres://u:p@127.0.0.1/test', schema),
      (error: { code?: string; message: string }) =>
        error.code === 'STRATA_ERR_STORE' && error.message.includes('invalid schema name'),
      JSON.stringify(schema),
    )
  }
  assert.throws(() => parseTarget(`postgres://u:p@127.0.0.1/test?schema=${encodeURIComponent('a"b')}`))
  assert.equal(parseTarget('postgres://u:p@127.0.0.1/test', 'strata_1').schema, 'strata_1')
  // And the one quoting function doubles quotes, so even a name that slipped through stays one identifier.
  assert.equal(quoteIdent('a"b'), '"a""b"')
})
