#!/usr/bin/env node
// Every export of the public entry (src/index.ts, and safeckpt/demo) carries a doc comment: what users
// call is documented where it is declared (TypeScript's own reading of the comments, as editors and
// typedoc show them). test/public-api.test.js runs it.
//
//   node scripts/check-docs.js      prints each undocumented export; exit 1 if any
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ENTRIES = ['src/index.ts', 'src/demo/index.ts'];

/** [{ entry, name, where }] for every export without a doc comment. */
export function undocumentedExports(entries = ENTRIES) {
  const files = entries.map((e) => join(root, e));
  const program = ts.createProgram(files, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, allowJs: false, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const out = [];
  for (const file of files) {
    const sf = program.getSourceFile(file);
    const mod = checker.getSymbolAtLocation(sf);
    for (const exp of checker.getExportsOfModule(mod)) {
      const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
      const doc = ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
      if (doc) continue;
      const decl = sym.declarations?.[0];
      const where = decl ? `${relative(root, decl.getSourceFile().fileName)}:${decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1}` : '?';
      out.push({ entry: relative(root, file), name: exp.name, where });
    }
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bad = undocumentedExports();
  for (const b of bad) console.error(`${b.where}: ${b.name} (exported by ${b.entry}) has no doc comment`);
  console.error(bad.length ? `check-docs: ${bad.length} undocumented export(s)` : 'check-docs: every public export is documented');
  process.exit(bad.length ? 1 : 0);
}
