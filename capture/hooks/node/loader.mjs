// tracer's module loader hook (module.register, Node 20.6+): rewrites the ES
// modules that define the transition function as they are loaded, as
// hook.cjs does for CommonJS modules (transform.cjs says how). It runs on
// Node's loader thread; the rewritten code calls the hook on the thread that
// runs the module.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { transform } = require('./transform.cjs');

let name = '';
let fileSpec = '';
let here = '';

export function initialize(data) {
  name = (data && data.name) || '';
  fileSpec = (data && data.fileSpec) || '';
  here = (data && data.here) || '';
}

function matches(url) {
  if (!url.startsWith('file:')) return false;
  let f;
  try {
    f = fileURLToPath(url);
  } catch (e) {
    return false;
  }
  if (here && f.startsWith(here + path.sep)) return false;
  if (!fileSpec) return true;
  return path.basename(f) === fileSpec || f === fileSpec || f.endsWith('/' + fileSpec) || path.basename(f, path.extname(f)) === fileSpec;
}

export async function load(url, context, nextLoad) {
  const r = await nextLoad(url, context);
  if (!name || r.format !== 'module' || r.source == null || !matches(url)) return r;
  try {
    const src = typeof r.source === 'string' ? r.source : Buffer.from(r.source).toString('utf8');
    const t = transform(src, name, fileURLToPath(url));
    if (t.code === src) return r;
    return { ...r, source: t.code };
  } catch (e) {
    return r;
  }
}
