#!/usr/bin/env node
// Builds a JavaScript plugin directory into a wasm_exporter component.
//
//   node sdk/js/build.mjs PLUGIN_DIR OUT.wasm [--scratch DIR] [--disable FEATURE]...
//   node sdk/js/build.mjs --toolchain
//
// `--toolchain` checks that sdk/js/node_modules holds exactly the versions
// package.json pins and prints them (the build tool's rebuild stamp), or
// fails saying what is missing.
//
// componentize-js evaluates one ES module (and what it imports by relative
// path) at build time and snapshots the engine. It does not resolve package
// names, so the plugin's `import ... from 'wasm-exporter'` cannot reach the
// SDK by itself. This script lays out a scratch directory:
//
//   wasm-exporter.js   the SDK (index.js beside this script), as it is
//   plugin/            a copy of PLUGIN_DIR, with every 'wasm-exporter'
//                      specifier rewritten to the SDK copy's relative path
//   bind.js            imports the host's interfaces and hands them to the SDK
//   main.js            imports bind.js, then plugin/index.js, and exports
//                      the SDK's `collector`
//
// and componentizes main.js against the `plugin` world of wit/. Nothing is
// bundled: the SDK stays one module, copied.
//
// FEATURE is one of componentize-js's engine features (stdio, random,
// clocks, http, fetch-event); by default all are on, so `fetch` works
// through wasi:http (the host links it and applies the plugin's grants).

import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

// componentize-js and oxc-parser are imported when building, so that
// `--toolchain` can report them missing.
let oxc;

const SDK_DIR = dirname(fileURLToPath(import.meta.url));
const WIT_DIR = resolve(SDK_DIR, '..', '..', 'wit');
const WORLD = 'plugin';
const PACKAGE = 'wasm-exporter';
const WIT_PACKAGE = 'wasm-exporter:collector';
const WIT_VERSION = '0.1.1';
const FEATURES = ['stdio', 'random', 'clocks', 'http', 'fetch-event'];
const SOURCE_EXTENSIONS = ['.js', '.mjs'];
/** Directory names never copied: tools and build output, not sources. */
const SKIPPED = new Set(['node_modules', 'target']);

function usage(message) {
  console.error(`${message}\nusage: node build.mjs PLUGIN_DIR OUT.wasm [--scratch DIR] [--disable FEATURE]...`);
  process.exit(2);
}

function parseArgs(argv) {
  const positional = [];
  const disable = [];
  let scratch;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--scratch' || arg === '--disable') {
      const value = argv[++i];
      if (value === undefined) usage(`${arg} needs a value`);
      if (arg === '--scratch') scratch = value;
      else if (!FEATURES.includes(value)) usage(`--disable ${value}: not one of ${FEATURES.join(', ')}`);
      else disable.push(value);
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 2) usage('expected PLUGIN_DIR and OUT.wasm');
  return { src: resolve(positional[0]), out: resolve(positional[1]), scratch, disable };
}

/** The pinned devDependencies, checked against what is installed. */
async function toolchain() {
  const manifest = JSON.parse(await readFile(join(SDK_DIR, 'package.json'), 'utf8'));
  const found = [];
  for (const [name, pinned] of Object.entries(manifest.devDependencies)) {
    const path = join(SDK_DIR, 'node_modules', name, 'package.json');
    const installed = await readFile(path, 'utf8').then((text) => JSON.parse(text).version, () => undefined);
    if (installed !== pinned) {
      throw new Error(
        `${name} ${pinned} is ${installed === undefined ? 'not installed' : `installed as ${installed}`} in ${join(SDK_DIR, 'node_modules')}`,
      );
    }
    found.push(`${name.replace(/^.*\//, '')} ${installed}`);
  }
  return `${found.join(', ')}, node ${process.version}`;
}

async function listSources(dir, found = []) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await listSources(path, found);
    else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) found.push(path);
  }
  return found;
}

/**
 * Rewrites the 'wasm-exporter' specifiers of one module to `sdkPath` (a
 * relative path from the module); `shown` names the file in errors.
 */
function rewriteSpecifiers(code, sdkPath, shown) {
  const parsed = oxc.parseSync(shown, code, { sourceType: 'module' });
  if (parsed.errors.length > 0) {
    const first = parsed.errors[0];
    const at = first.labels?.[0]?.start;
    const line = at === undefined ? '' : `:${code.slice(0, at).split('\n').length}`;
    throw new Error(`${shown}${line}: ${first.message}`);
  }
  const spans = [];
  for (const item of parsed.module.staticImports) spans.push(item.moduleRequest);
  for (const item of parsed.module.staticExports) {
    for (const entry of item.entries) if (entry.moduleRequest) spans.push(entry.moduleRequest);
  }
  for (const item of parsed.module.dynamicImports) spans.push(item.moduleRequest);
  const quoted = JSON.stringify(sdkPath);
  let result = code;
  // Spans are UTF-16 offsets into `code`; replacing from the end keeps the
  // earlier ones valid.
  for (const span of spans.sort((a, b) => b.start - a.start)) {
    const text = code.slice(span.start, span.end);
    if (text.length >= 2 && /^['"]/.test(text) && text.slice(1, -1) === PACKAGE) {
      result = result.slice(0, span.start) + quoted + result.slice(span.end);
    }
  }
  return result;
}

function posix(path) {
  return path.split(sep).join('/');
}

async function main() {
  if (process.argv[2] === '--toolchain' && process.argv.length === 3) {
    console.log(await toolchain());
    return;
  }
  const { src, out, scratch: scratchArg, disable } = parseArgs(process.argv.slice(2));
  const { componentize } = await import('@bytecodealliance/componentize-js');
  oxc = (await import('oxc-parser')).default;
  const entry = join(src, 'index.js');
  if (!(await stat(entry).catch(() => null))?.isFile()) {
    throw new Error(`${entry}: missing (a plugin directory needs an index.js ES module)`);
  }
  // A scratch directory given is kept for inspection; a temporary one is not.
  const scratch = scratchArg ? resolve(scratchArg) : await mkdtemp(join(tmpdir(), 'wasm-exporter-js-'));
  try {
    await buildIn(scratch, src, out, disable, componentize);
  } finally {
    if (!scratchArg) await rm(scratch, { recursive: true, force: true });
  }
}

async function buildIn(scratch, src, out, disable, componentize) {
  await rm(scratch, { recursive: true, force: true });
  const pluginDir = join(scratch, 'plugin');
  await mkdir(pluginDir, { recursive: true });
  await cp(src, pluginDir, {
    recursive: true,
    filter: (path) => {
      const name = path.slice(src.length).split(/[\\/]/).filter(Boolean);
      return !name.some((part) => part.startsWith('.') || SKIPPED.has(part));
    },
  });
  const sdkCopy = join(scratch, `${PACKAGE}.js`);
  await cp(join(SDK_DIR, 'index.js'), sdkCopy);

  for (const file of await listSources(pluginDir)) {
    const shown = join(src, relative(pluginDir, file));
    let relativeSdk = posix(relative(dirname(file), sdkCopy));
    if (!relativeSdk.startsWith('.')) relativeSdk = `./${relativeSdk}`;
    const code = await readFile(file, 'utf8');
    await writeFile(file, rewriteSpecifiers(code, relativeSdk, shown));
  }

  await writeFile(
    join(scratch, 'bind.js'),
    `import * as host from '${WIT_PACKAGE}/host@${WIT_VERSION}';\n` +
      `import * as fsStats from '${WIT_PACKAGE}/fs-stats@${WIT_VERSION}';\n` +
      `import { __bindHost } from './${PACKAGE}.js';\n` +
      `__bindHost(host, fsStats);\n`,
  );
  await writeFile(
    join(scratch, 'main.js'),
    `import './bind.js';\nimport './plugin/index.js';\nexport { collector } from './${PACKAGE}.js';\n`,
  );

  // componentize-js maps the working directory into the engine when the
  // source is below it: make that the scratch directory, nothing wider.
  process.chdir(scratch);
  let component;
  try {
    ({ component } = await componentize({
      sourcePath: join(scratch, 'main.js'),
      witPath: WIT_DIR,
      worldName: WORLD,
      disableFeatures: disable,
    }));
  } catch (error) {
    // Engine errors name modules by their scratch path: show the sources'.
    const message = String(error?.message ?? error).replaceAll(`plugin/`, `${src}/`);
    throw new Error(`componentize-js failed for ${src}:\n${message}`);
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, component);
  console.error(`${out}: ${(component.length / 1024 / 1024).toFixed(1)} MiB`);
}

main().catch((error) => {
  console.error(`error: ${error?.message ?? error}`);
  process.exit(1);
});
