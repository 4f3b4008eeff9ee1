// Pins the optional platform packages to this package's version. `npm
// version` runs it (after `napi version` has set the version of every
// npm/<platform>/package.json), so that package.json, package-lock.json and
// npm/ name one version; the packaging test checks they do.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (file) => JSON.parse(readFileSync(join(root, file), 'utf8'));
const write = (file, value) => writeFileSync(join(root, file), `${JSON.stringify(value, null, 2)}\n`);

const pkg = read('package.json');
const platforms = readdirSync(join(root, 'npm'))
  .filter((dir) => existsSync(join(root, 'npm', dir, 'package.json')))
  .sort();
const pinned = {};
for (const platform of platforms) {
  const manifest = read(join('npm', platform, 'package.json'));
  if (manifest.version !== pkg.version) {
    throw new Error(`npm/${platform} is at ${manifest.version}, not ${pkg.version}: run \`napi version\` first`);
  }
  pinned[manifest.name] = pkg.version;
}

pkg.optionalDependencies = pinned;
write('package.json', pkg);
const lock = read('package-lock.json');
lock.packages[''].optionalDependencies = pinned;
write('package-lock.json', lock);
console.log(`optionalDependencies: ${platforms.length} platform packages at ${pkg.version}`);
