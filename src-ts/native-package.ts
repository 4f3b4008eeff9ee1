/**
 * Which prebuilt platform package serves this machine, and why the native
 * addon did not load, for the one warning the JavaScript fallback gives.
 */

/** napi-rs's name for this platform (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ...). */
export function platformTriple(): string {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return `linux-${arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The platform packages the main package lists (its optional dependencies), with their versions. */
function publishedPackages(): Record<string, string> {
  try {
    const pkg = require('../package.json') as { name: string; optionalDependencies?: Record<string, string> };
    return Object.fromEntries(Object.entries(pkg.optionalDependencies ?? {}).filter(([name]) => name.startsWith(`${pkg.name}-`)));
  } catch {
    return {};
  }
}

/**
 * The most telling reason in the loader's error chain: a platform package
 * that was found but failed to load (a libc mismatch, a corrupt file) says
 * more than the modules that are simply absent, and the WebAssembly fallback
 * this package does not publish says nothing.
 */
function reason(error: unknown): string {
  const messages: string[] = [];
  for (let e = error as (Error & { cause?: unknown }) | undefined; e && messages.length < 32; e = e.cause as typeof e) {
    if (typeof e.message === 'string') messages.push(e.message.split('\n')[0]);
  }
  const telling = messages.find((m) => !/Cannot find (module|native binding)|wasi/i.test(m));
  return telling ?? 'the platform package is not installed';
}

/** The fallback warning: what failed, which package would serve this machine, and the environment variable. */
export function fallbackWarning(error: unknown): string {
  const triple = platformTriple();
  const packages = publishedPackages();
  const name = `wsi-mask-builder-${triple}`;
  const version = packages[name];
  const remedy =
    version !== undefined
      ? `This machine (${triple}) is served by ${name}: install it (npm install ${name}@${version}; npm leaves it out with --omit=optional or a lockfile made on another platform)`
      : `no prebuilt package serves ${triple} (published: ${Object.keys(packages)
          .map((p) => p.replace('wsi-mask-builder-', ''))
          .join(', ')}); build the addon from a clone`;
  return (
    `wsi-mask-builder: the native addon did not load (${reason(error)}); using the slower pure-JavaScript backend. ` +
    `${remedy}, or set NAPI_RS_NATIVE_LIBRARY_PATH to a wsi-mask-builder .node file. ` +
    "Pass backend: 'js' (or WSI_MASK_BUILDER_BACKEND=js) to choose the JavaScript backend without this warning"
  );
}
