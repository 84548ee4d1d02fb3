// Issue 16: dependencies point one way. Packages never import services; the channels never reach
// the database (the dispatcher hands their adapters a token store and a recorder); in the API only
// server.ts, the embedded entry point, composes the dispatcher. Read from the import lines of
// every source and test file, and from each package.json.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const WORKSPACES = ['packages', 'services'].flatMap((group) =>
  readdirSync(join(ROOT, group), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `${group}/${d.name}`),
);

function manifest(workspace: string): { name: string; dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8'));
}

const workspaceByName = new Map(WORKSPACES.map((w) => [manifest(w).name, w]));

/** Every .ts file under `dir` (relative to the root), node_modules aside. */
function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const path = `${dir}/${d.name}`;
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : tsFiles(path);
    return d.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g;

/** Where a file's imports land: a workspace (`packages/db`), another top folder (`bench`), or nothing for npm packages. */
function importedPlaces(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].flatMap(([, spec]) => {
    if (spec.startsWith('.')) {
      const [top, name] = relative(ROOT, resolve(ROOT, dirname(file), spec)).split('/');
      return top === 'packages' || top === 'services' ? [`${top}/${name}`] : [top];
    }
    const workspace = workspaceByName.get(spec.split('/').slice(0, 2).join('/'));
    return workspace ? [workspace] : [];
  });
}

/** The files under `dir` that import something in `place`. */
function importersOf(dir: string, place: string): string[] {
  return tsFiles(dir).filter((file) => importedPlaces(file).some((p) => p === place || p.startsWith(`${place}/`)));
}

const PACKAGES = WORKSPACES.filter((w) => w.startsWith('packages/'));

describe('dependency direction', () => {
  it('in services/api/src only server.ts imports the dispatcher', () => {
    expect(importersOf('services/api/src', 'services/dispatcher')).toEqual(['services/api/src/server.ts']);
  });

  it('packages never import services', () => {
    for (const p of PACKAGES) {
      expect(importersOf(p, 'services'), p).toEqual([]);
      expect(
        Object.keys(manifest(p).dependencies ?? {}).map((d) => workspaceByName.get(d) ?? d),
        p,
      ).not.toContainEqual(expect.stringMatching(/^services\//));
    }
  });

  it('packages/channels does not import packages/db', () => {
    expect(importersOf('packages/channels', 'packages/db')).toEqual([]);
    expect(manifest('packages/channels').dependencies).not.toHaveProperty('@policy-push/db');
  });
});
