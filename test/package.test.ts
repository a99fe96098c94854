/**
 * The package as others see it: the names and entry points that are contracts (package.json, the
 * `node-red-contrib-iopi/simulator` export, the node set, the files Node-RED loads beside each node),
 * and a repository that stands on its own: no file points to a path of some machine or to notes
 * outside the repository (what the code relies on is written in docs/).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

import { projectRoot } from './helpers/red';

const root = projectRoot();
/** Where this build went (dist/ for npm test; IOPI_OUT otherwise). */
const out = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('package', () => {
  it('is node-red-contrib-iopi with the Node-RED metadata the Flow Library checks', () => {
    assert.equal(pkg.name, 'node-red-contrib-iopi');
    assert.ok(pkg.keywords.includes('node-red'));
    assert.equal(pkg.license, 'MIT');
    assert.ok(pkg.repository?.url);
    assert.equal(pkg['node-red'].version, '>=3.1.0');
    assert.equal(pkg.engines.node, '>=18.5');
    assert.deepEqual(Object.keys(pkg.dependencies), ['i2c-bus']);
    assert.deepEqual(Object.keys(pkg['node-red'].nodes).sort(), ['iopi-chip', 'iopi-in', 'iopi-out', 'iopi-setup']);
  });

  it('exports the simulator as node-red-contrib-iopi/simulator (resolved by package name)', () => {
    // Resolved by the package's own name through package.json "exports" (self-reference from inside it).
    const requireInPackage = createRequire(path.join(root, 'package.json'));
    const sim = requireInPackage('node-red-contrib-iopi/simulator');
    for (const fn of ['openPromisified', 'chip', 'remove', 'reset']) assert.equal(typeof sim[fn], 'function', fn);
    const lib = requireInPackage('node-red-contrib-iopi');
    assert.equal(typeof lib.Mcp23017, 'function');
    sim.reset();
    const chip = sim.chip(1, 0x20);
    assert.equal(chip.register(0x00), 0xff);
    assert.equal(sim.chip(1, 0x20), chip, 'the same object on the next call');
    sim.reset();
  });

  it('every node has its .js, .html, catalogue and help where Node-RED looks, and its icon', () => {
    for (const [type, file] of Object.entries(pkg['node-red'].nodes) as [string, string][]) {
      const js = path.join(out, file.replace(/^dist\//, ''));
      const dir = path.dirname(js);
      assert.ok(fs.existsSync(js), js);
      assert.ok(fs.existsSync(path.join(dir, `${type}.html`)), `${type}.html beside ${file}`);
      assert.ok(fs.existsSync(path.join(dir, 'locales', 'en-US', `${type}.json`)), `${type} catalogue`);
      assert.ok(fs.existsSync(path.join(dir, 'locales', 'en-US', `${type}.html`)), `${type} help`);
      const html = fs.readFileSync(path.join(dir, `${type}.html`), 'utf8');
      assert.match(html, new RegExp(`RED\\.nodes\\.registerType\\(\\s*['"]${type}['"]`), 'a literal registerType');
      // The shared editor helpers come from the module's resources/ folder, which Node-RED serves
      // (resources/<module>/...), loaded before the node's own script.
      const src = /<script src="resources\/node-red-contrib-iopi\/([^"]+)"><\/script>/.exec(html);
      assert.ok(src && html.indexOf(src[0]) < html.indexOf('registerType'), `${type}.html loads the editor helpers first`);
      assert.ok(fs.existsSync(path.join(root, 'resources', src[1])), `resources/${src[1]}`);
      assert.ok(pkg.files.includes('resources'), 'resources/ is published');
      if (/category:\s*['"]config['"]/.test(html)) continue; // config nodes have no icon
      const icon = /icon:\s*['"]([^'"]+)['"]/.exec(html)?.[1];
      assert.ok(icon && fs.existsSync(path.join(dir, 'icons', icon)), `${type} icon ${icon} in ${dir}/icons`);
    }
  });
});

// -------------------------------------------------------------------------------------------------
// The repository stands on its own

/**
 * The repository's files, relative to `root`: `git ls-files` (tracked files), or, where the tree is
 * not a git checkout, every file not excluded by .gitignore's simple patterns.
 */
function repositoryFiles(): { files: string[]; how: string } {
  try {
    const listed = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const files = listed.split('\0').filter((f) => f !== '' && fs.existsSync(path.join(root, f)));
    if (files.length > 0) return { files, how: 'git ls-files' };
  } catch {
    // no git, or not a checkout: walk the tree instead
  }
  const ignore = fs.readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const dirs = new Set(['.git', ...ignore.filter((l) => l.endsWith('/')).map((l) => l.slice(0, -1))]);
  const suffixes = ignore.filter((l) => l.startsWith('*')).map((l) => l.slice(1));
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!dirs.has(entry.name)) walk(child);
      } else if (!dirs.has(entry.name) && !suffixes.some((sfx) => entry.name.endsWith(sfx))) {
        files.push(child);
      }
    }
  };
  walk('');
  return { files, how: 'a walk of the tree' };
}

/** A file's text, or undefined for a binary file (a NUL byte in its first 8000 bytes, git's rule). A symlink is its target. */
function textOf(file: string): string | undefined {
  const full = path.join(root, file);
  if (fs.lstatSync(full).isSymbolicLink()) return fs.readlinkSync(full);
  const data = fs.readFileSync(full);
  if (data.subarray(0, 8000).includes(0)) return undefined;
  return data.toString('utf8');
}

/**
 * What must not appear anywhere in the repository. Built from pieces, so that this file, which is
 * scanned too, does not contain them.
 */
const OUTSIDE_PATHS: { name: string; pattern: RegExp; sample: string }[] = [
  { name: 'a path under /work', pattern: new RegExp(['', 'work', ''].join('/')), sample: ['see ', 'work', 'shared'].join('/') },
  { name: 'the shared notes folder', pattern: new RegExp(['shared', 'notes'].join('/')), sample: ['the', 'shared', 'notes', 'x.md'].join('/') },
  { name: 'a home directory', pattern: new RegExp(['(^|[^\\w.-])', '(home|Users)', '[A-Za-z_][\\w.-]*', ''].join('/')), sample: ['', 'home', 'pi', 'notes'].join('/') },
];
const OUTSIDE_REFERENCES: { name: string; pattern: RegExp; sample: string }[] = [
  { name: 'a section of a note outside the repository', pattern: new RegExp(['\\bnotes?', '(\\S+\\.md\\s*)?§'].join(' '), 'i'), sample: ['(note', '§9)'].join(' ') },
  { name: 'an issue number of our tracker (say what the thing is; cite public threads as owner/repo#N)', pattern: new RegExp(['\\bissues?', '#?\\d+\\b'].join(' '), 'i'), sample: ['Reliability (issue', '8)'].join(' ') },
];

/** `file:line: text` for every line of every text file matching `pattern`. */
function findAll(files: string[], pattern: RegExp): string[] {
  const hits: string[] = [];
  for (const file of files) {
    const text = textOf(file);
    if (text === undefined) continue;
    text.split('\n').forEach((line, i) => {
      if (pattern.test(line)) hits.push(`${file}:${i + 1}: ${line.trim().slice(0, 160)}`);
    });
  }
  return hits;
}

describe('repository', () => {
  const { files, how } = repositoryFiles();

  it('the scan sees the whole repository, text files included', () => {
    // Guards against a scan that passes because it read nothing.
    assert.ok(files.length > 100, `${files.length} files from ${how}`);
    for (const f of ['package.json', 'README.md', 'lib/driver.ts', 'lib/simulator/chip.ts', 'native/iopi-i2c-shim.c', 'test/package.test.ts', 'docs/mcp23017.md', 'docs/linux-i2c-and-gpio.md']) {
      assert.ok(files.includes(f), `${f} is among the files (${how})`);
      assert.equal(typeof textOf(f), 'string', `${f} is read as text`);
    }
    assert.equal(textOf('docs/images/editor-sidebar.png'), undefined, 'images are binary and skipped');
  });

  it('each rule catches its sample and lets legitimate text through', () => {
    for (const rule of [...OUTSIDE_PATHS, ...OUTSIDE_REFERENCES]) {
      assert.ok(rule.pattern.test(rule.sample), `${rule.name}: ${JSON.stringify(rule.sample)}`);
    }
    // Legitimate text is not caught: public issue threads, docs references, node_modules paths.
    for (const fine of ['adafruit/Adafruit-MCP23017-Arduino-Library#58', 'docs/mcp23017.md §6.2', 'node_modules/worker-timers', 'DS §3.6.4']) {
      for (const rule of [...OUTSIDE_PATHS, ...OUTSIDE_REFERENCES]) assert.equal(rule.pattern.test(fine), false, `${rule.name} must not flag ${fine}`);
    }
  });

  for (const rule of OUTSIDE_PATHS) {
    it(`no file contains ${rule.name}`, () => {
      assert.deepEqual(findAll(files, rule.pattern), [], 'a path of one machine means nothing to whoever clones the repository');
    });
  }

  for (const rule of OUTSIDE_REFERENCES) {
    it(`no file refers to ${rule.name}`, () => {
      assert.deepEqual(findAll(files, rule.pattern), [], 'point to docs/ or to the datasheet instead');
    });
  }

  it('every docs/*.md a file points to exists, with the section it names', () => {
    const missing: string[] = [];
    const docs = new Map<string, string>();
    for (const file of files) {
      const text = textOf(file);
      if (text === undefined) continue;
      for (const m of text.matchAll(/docs\/([\w.-]+\.md)(?:\s*(?:§|#)\s*(\d+(?:\.\d+)*))?/g)) {
        const doc = m[1];
        if (!docs.has(doc)) docs.set(doc, fs.existsSync(path.join(root, 'docs', doc)) ? fs.readFileSync(path.join(root, 'docs', doc), 'utf8') : '');
        const body = docs.get(doc)!;
        if (!body) missing.push(`${file}: docs/${doc} does not exist`);
        else if (m[2] && !new RegExp(`^#{2,4} ${m[2].replace(/\./g, '\\.')}\\.?\\s`, 'm').test(body)) missing.push(`${file}: docs/${doc} has no section ${m[2]}`);
      }
    }
    assert.ok(docs.size >= 2, `docs referenced: ${[...docs.keys()].join(', ')}`);
    assert.deepEqual(missing, []);
  });
});
