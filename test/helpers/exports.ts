/**
 * Who uses each export of lib/: a reader of import and export statements (TypeScript's parser, no type
 * check), for test/exports.test.ts. It follows `import … from`, `export … from` (named and `*`),
 * `import * as ns` (through `ns.name`), `import(…)`, `require(…)` and `import('…').Name` types, across
 * lib/, bin/, bench/, test/ and notebooks/ (the tools and the notebooks' code cells). lib/index.ts is the
 * public API: what it exports counts as used.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export const ROOT = path.join(__dirname, '..', '..');
const FOLDERS = ['lib', 'bin', 'bench', 'test', 'notebooks'];
const PUBLIC = 'lib/index.ts';
/** The user recorded for names lib/index.ts exports. */
export const PUBLIC_USER = '(public API)';

/** One export of a file: declared there, or a named re-export (`export { a as b } from './x'`). */
interface ExportEntry {
  name: string;
  line: number;
  /** For a re-export: the module it comes from and the name there. */
  from?: { file: string; name: string };
}

interface ModuleInfo {
  exports: Map<string, ExportEntry>;
  /** `export * from` targets. */
  stars: string[];
}

/** An export and the files (other than its own) that use it, directly or through re-exports. */
export interface ExportUse {
  file: string;
  name: string;
  line: number;
  /** For a re-export: the file whose name it passes on. */
  from?: string;
  users: Set<string>;
}

function walk(dir: string, out: string[]): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !e.name.startsWith('.') && e.name !== 'fixtures') walk(p, out);
    } else if (/\.(ts|cjs|mjs|ipynb)$/.test(e.name)) out.push(path.relative(ROOT, p).split(path.sep).join('/'));
  }
  return out;
}

/** The code of a file; a notebook's code cells joined. */
function codeOf(rel: string): string {
  const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
  if (!rel.endsWith('.ipynb')) return text;
  const nb = JSON.parse(text) as { cells: Array<{ cell_type: string; source: string | string[] }> };
  return nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source)).join('\n;\n');
}

function resolve(fromRel: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  // A notebook's kernel runs at the repository root.
  const dirs = fromRel.endsWith('.ipynb') ? ['', path.posix.dirname(fromRel)] : [path.posix.dirname(fromRel)];
  for (const dir of dirs) {
    const base = path.posix.normalize(path.posix.join(dir, spec)).replace(/\.js$/, '');
    for (const c of [base, `${base}.ts`, `${base}.cjs`, `${base}/index.ts`]) {
      const abs = path.join(ROOT, c);
      if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return c;
    }
  }
  return undefined;
}

const hasExport = (n: ts.Node): boolean => ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const hasDefault = (n: ts.Node): boolean => ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);

function bindingNames(name: ts.BindingName, out: string[]): string[] {
  if (ts.isIdentifier(name)) out.push(name.text);
  else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, out);
  return out;
}

/** Skips parentheses, casts, `await` and `!` upwards. */
function outer(n: ts.Node): ts.Node {
  let p = n.parent;
  while (p && (ts.isParenthesizedExpression(p) || ts.isAsExpression(p) || ts.isAwaitExpression(p) || ts.isNonNullExpression(p) || ts.isTypeAssertionExpression(p))) { n = p; p = n.parent; }
  return p;
}

export function analyseExports(): ExportUse[] {
  const files = FOLDERS.flatMap((d) => walk(path.join(ROOT, d), []));
  const modules = new Map<string, ModuleInfo>();
  /** [importer, module, name or '*' for every name]. */
  const imports: Array<[string, string, string]> = [];
  const sources = new Map<string, ts.SourceFile>();
  for (const rel of files) {
    const kind = /\.(cjs|mjs)$/.test(rel) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
    sources.set(rel, ts.createSourceFile(rel, codeOf(rel), ts.ScriptTarget.ES2022, true, kind));
  }
  for (const [rel, sf] of sources) {
    const info: ModuleInfo = { exports: new Map(), stars: [] };
    modules.set(rel, info);
    const line = (n: ts.Node): number => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
    const add = (name: string, n: ts.Node, from?: ExportEntry['from']): void => { info.exports.set(name, { name, line: line(n), from }); };
    const namespaces = new Map<string, string>();
    const use = (target: string | undefined, name: string): void => { if (target) imports.push([rel, target, name]); };
    const useNamespace = (ns: string, target: string | undefined): void => { if (target) namespaces.set(ns, target); };
    const dynamic = (call: ts.Node, target: string | undefined): void => {
      const p = outer(call);
      if (p && ts.isPropertyAccessExpression(p)) use(target, p.name.text);
      else if (p && ts.isVariableDeclaration(p) && ts.isObjectBindingPattern(p.name)) {
        for (const el of p.name.elements) use(target, (el.propertyName ?? el.name).getText(sf));
      } else if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) useNamespace(p.name.text, target);
      else use(target, '*');
    };
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
        const target = resolve(rel, st.moduleSpecifier.text);
        const clause = st.importClause;
        if (!clause) continue;
        if (clause.name) use(target, 'default');
        const nb = clause.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) useNamespace(nb.name.text, target);
        else if (nb) for (const el of nb.elements) use(target, (el.propertyName ?? el.name).text);
      } else if (ts.isExportDeclaration(st)) {
        const target = st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? resolve(rel, st.moduleSpecifier.text) : undefined;
        if (!st.exportClause) { if (target) info.stars.push(target); continue; }
        if (ts.isNamespaceExport(st.exportClause)) { add(st.exportClause.name.text, st); if (target) use(target, '*'); continue; }
        for (const el of st.exportClause.elements) {
          const local = (el.propertyName ?? el.name).text;
          if (target) add(el.name.text, el, { file: target, name: local });
          else add(el.name.text, el);
        }
      } else if (ts.isExportAssignment(st)) add('default', st);
      else if (hasExport(st)) {
        if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) for (const n of bindingNames(d.name, [])) add(n, d);
        else {
          const named = st as ts.Node & { name?: ts.Identifier };
          add(hasDefault(st) ? 'default' : named.name?.text ?? 'default', st);
        }
      }
    }
    // Named imports re-exported without `from` (`import { a } from './x'; export { a }`) point at their origin.
    const importedFrom = new Map<string, { file: string; name: string }>();
    for (const st of sf.statements) {
      if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
      const target = resolve(rel, st.moduleSpecifier.text);
      const nb = st.importClause?.namedBindings;
      if (target && nb && ts.isNamedImports(nb)) for (const el of nb.elements) importedFrom.set(el.name.text, { file: target, name: (el.propertyName ?? el.name).text });
    }
    for (const e of info.exports.values()) if (!e.from && importedFrom.has(e.name)) e.from = importedFrom.get(e.name);
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && n.arguments.length === 1 && ts.isStringLiteralLike(n.arguments[0])
        && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require'))) {
        dynamic(n, resolve(rel, n.arguments[0].text));
      } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
        const target = resolve(rel, n.argument.literal.text);
        if (n.qualifier) {
          let q: ts.EntityName = n.qualifier;
          while (ts.isQualifiedName(q)) q = q.left;
          use(target, q.text);
        } else if (!ts.isAsExpression(n.parent)) use(target, '*'); // `require('x') as typeof import('x')`: the require says which names
      } else if (ts.isIdentifier(n) && namespaces.has(n.text)) {
        const p = n.parent;
        const target = namespaces.get(n.text);
        if (ts.isPropertyAccessExpression(p) && p.expression === n) use(target, p.name.text);
        else if (ts.isQualifiedName(p) && p.left === n) use(target, p.right.text);
        else if (!(ts.isNamespaceImport(p) || (ts.isVariableDeclaration(p) && p.name === n))) use(target, '*');
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }

  /** The chain of export entries a name of a module resolves through (the module's entry first). */
  const chain = (file: string, name: string, seen = new Set<string>()): Array<[string, ExportEntry]> => {
    const key = `${file}#${name}`;
    if (seen.has(key)) return [];
    seen.add(key);
    const m = modules.get(file);
    if (!m) return [];
    const e = m.exports.get(name);
    if (e) return [[file, e], ...(e.from ? chain(e.from.file, e.from.name, seen) : [])];
    for (const s of m.stars) {
      const c = chain(s, name, seen);
      if (c.length) return c;
    }
    return [];
  };
  const allNames = (file: string, seen = new Set<string>()): string[] => {
    if (seen.has(file)) return [];
    seen.add(file);
    const m = modules.get(file);
    if (!m) return [];
    return [...m.exports.keys(), ...m.stars.flatMap((s) => allNames(s, seen))];
  };

  const uses = new Map<string, ExportUse>();
  for (const [file, m] of modules) {
    if (!file.startsWith('lib/')) continue;
    for (const e of m.exports.values()) uses.set(`${file}#${e.name}`, { file, name: e.name, line: e.line, from: e.from?.file, users: new Set() });
  }
  const mark = (user: string, file: string, name: string): void => {
    for (const n of name === '*' ? allNames(file) : [name]) {
      for (const [f, e] of chain(file, n)) if (f !== user) uses.get(`${f}#${e.name}`)?.users.add(user);
    }
  };
  for (const [user, file, name] of imports) mark(user, file, name);
  for (const name of allNames(PUBLIC)) mark(PUBLIC_USER, PUBLIC, name);
  return [...uses.values()].filter((u) => u.file !== PUBLIC);
}

/** A type a lib file declares (interface, type alias, class or enum) that a signature of one of its exports names. */
export interface SignatureType {
  file: string;
  name: string;
  line: number;
  exported: boolean;
}

const isTypeDeclaration = (n: ts.Node): n is ts.InterfaceDeclaration | ts.TypeAliasDeclaration | ts.ClassDeclaration | ts.EnumDeclaration =>
  ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n) || ts.isClassDeclaration(n) || ts.isEnumDeclaration(n);

/**
 * The names a declaration's signature mentions as types: parameters, return and variable types, type bodies,
 * class members' types, heritage — never a function's body or a variable's value (except a function value's
 * own signature), which a caller cannot see.
 */
function signatureNames(decl: ts.Node, out: Set<string>): void {
  const visit = (n: ts.Node): void => {
    if (ts.isBlock(n)) return;
    if (ts.isTypeReferenceNode(n) || ts.isExpressionWithTypeArguments(n)) {
      let q: ts.Node = ts.isTypeReferenceNode(n) ? n.typeName : n.expression;
      while (ts.isQualifiedName(q)) q = q.left;
      if (ts.isIdentifier(q)) out.add(q.text);
    } else if (ts.isTypeQueryNode(n)) {
      let q: ts.EntityName = n.exprName;
      while (ts.isQualifiedName(q)) q = q.left;
      out.add(q.text);
    }
    if (ts.isVariableDeclaration(n) || ts.isPropertyDeclaration(n)) {
      if (n.type) visit(n.type);
      const init = n.initializer;
      if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) visit(init);
      return;
    }
    if (ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n)) {
      if (ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) return;
      n.typeParameters?.forEach(visit);
      n.parameters.forEach(visit);
      if (n.type) visit(n.type);
      return;
    }
    if (ts.isParameter(n)) {
      if (n.type) visit(n.type);
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(decl);
}

/** Per lib file, the types its exports' signatures name that the file itself declares. */
export function signatureTypes(): SignatureType[] {
  const out: SignatureType[] = [];
  for (const rel of walk(path.join(ROOT, 'lib'), []).filter((f) => f.endsWith('.ts'))) {
    const sf = ts.createSourceFile(rel, codeOf(rel), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const declared = new Map<string, ts.Node>();
    for (const st of sf.statements) if (isTypeDeclaration(st) && st.name) declared.set(st.name.text, st);
    const named = new Set<string>();
    for (const st of sf.statements) if (hasExport(st)) signatureNames(st, named);
    // `export { a, b }` lists: the listed declarations' signatures too.
    const listed = new Set<string>();
    for (const st of sf.statements) if (ts.isExportDeclaration(st) && !st.moduleSpecifier && st.exportClause && ts.isNamedExports(st.exportClause)) for (const el of st.exportClause.elements) listed.add((el.propertyName ?? el.name).text);
    for (const st of sf.statements) {
      const n = (st as ts.Node & { name?: ts.Identifier }).name;
      if (n && ts.isIdentifier(n) && listed.has(n.text)) signatureNames(st, named);
      if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name) && listed.has(d.name.text)) signatureNames(d, named);
    }
    for (const name of named) {
      const d = declared.get(name);
      if (!d) continue;
      const exported = hasExport(d) || listed.has(name);
      out.push({ file: rel, name, line: sf.getLineAndCharacterOfPosition(d.getStart(sf)).line + 1, exported });
    }
  }
  return out;
}
