'use strict';
// The source transform of tracer's Node transition hook: every definition of
// the function named NAME in a module's source is rewritten so that its body
// runs through the hook, which observes the call (hook.cjs). Only text is
// inserted, never a line break, so line numbers (and columns after the
// insertion) stay those of the original source.
//
//   function NAME(s, a) { BODY }      ->  function NAME(s, a) { return H.call(K, this, arguments, () => { BODY });}
//   async NAME(a) { BODY }   (method) ->  async NAME(a) { return H.call(K, this, arguments, async () => { BODY });}
//   NAME = (s, a) => { BODY }         ->  NAME = (...r) => H.arrow(K, r, (s, a) => { BODY })
//   NAME = (s, a) => EXPR             ->  NAME = (...r) => H.arrow(K, r, (s, a) => EXPR)   (opts.concise)
//
// The inner arrow function keeps `this`, `arguments`, `super` and
// `new.target` of the function it sits in. Generators are left alone.

const HOOK = 'globalThis.__tracerTransitionHook';

const KEYWORDS_BEFORE_EXPR = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else',
  'yield', 'await', 'extends',
]);

// tokenize returns the significant tokens of src: {t: kind, v: text, s: start,
// e: end}; kinds: 'id', 'p' (punctuator), 'str', 'tpl', 're', 'num'. Braces
// carry m, the index of their partner (for `{`) and template parts are one
// token. It is a scanner, not a parser: good enough to find definitions and
// the braces around their bodies; on anything it cannot read it returns null.
function tokenize(src) {
  const toks = [];
  const stack = []; // indexes of open `{` tokens, or -1 for a template `${`
  const n = src.length;
  let i = 0;
  const prevAllowsRegex = () => {
    const p = toks[toks.length - 1];
    if (!p) return true;
    if (p.t === 'num' || p.t === 'str' || p.t === 'tpl' || p.t === 're') return false;
    if (p.t === 'id') return KEYWORDS_BEFORE_EXPR.has(p.v);
    return !(p.v === ')' || p.v === ']' || p.v === '}');
  };
  // scanTemplate reads template text from i (after ` or a closing } of ${)
  // up to the closing ` (returns its end) or a ${ (pushes -1).
  const scanTemplate = (start) => {
    let j = i;
    while (j < n) {
      const c = src.charCodeAt(j);
      if (c === 92) { j += 2; continue; } // backslash
      if (c === 96) { toks.push({ t: 'tpl', v: '`', s: start, e: j + 1 }); i = j + 1; return true; }
      if (c === 36 && src.charCodeAt(j + 1) === 123) {
        toks.push({ t: 'tpl', v: '${', s: start, e: j + 2 });
        stack.push(-1);
        i = j + 2;
        return true;
      }
      j++;
    }
    return false;
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    // white space and line terminators
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029) { i++; continue; }
    if (c === 47) { // '/'
      const d = src.charCodeAt(i + 1);
      if (d === 47) { const e = src.indexOf('\n', i); i = e < 0 ? n : e; continue; }
      if (d === 42) { const e = src.indexOf('*/', i + 2); if (e < 0) return null; i = e + 2; continue; }
      if (prevAllowsRegex()) {
        let j = i + 1;
        let cls = false;
        for (; j < n; j++) {
          const x = src.charCodeAt(j);
          if (x === 92) { j++; continue; }
          if (x === 10 || x === 13) return null;
          if (cls) { if (x === 93) cls = false; continue; }
          if (x === 91) cls = true;
          else if (x === 47) break;
        }
        if (j >= n) return null;
        j++;
        while (j < n && /[A-Za-z]/.test(src[j])) j++;
        toks.push({ t: 're', v: '', s: i, e: j });
        i = j;
        continue;
      }
    }
    if (i === 0 && c === 35 && src.charCodeAt(1) === 33) { // #! line
      const e = src.indexOf('\n');
      i = e < 0 ? n : e;
      continue;
    }
    if (c === 39 || c === 34) { // ' "
      let j = i + 1;
      for (; j < n; j++) {
        const x = src.charCodeAt(j);
        if (x === 92) { j++; continue; }
        if (x === c) break;
        if (x === 10) return null;
      }
      if (j >= n) return null;
      toks.push({ t: 'str', v: src.slice(i, j + 1), s: i, e: j + 1 });
      i = j + 1;
      continue;
    }
    if (c === 96) { // `
      const s = i;
      i++;
      if (!scanTemplate(s)) return null;
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdPart(src.charCodeAt(j))) j++;
      toks.push({ t: 'id', v: src.slice(i, j), s: i, e: j });
      i = j;
      continue;
    }
    if (c >= 48 && c <= 57 || (c === 46 && src.charCodeAt(i + 1) >= 48 && src.charCodeAt(i + 1) <= 57)) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(src[j])) j++;
      toks.push({ t: 'num', v: src.slice(i, j), s: i, e: j });
      i = j;
      continue;
    }
    if (c === 123) { // {
      stack.push(toks.length);
      toks.push({ t: 'p', v: '{', s: i, e: i + 1, m: -1 });
      i++;
      continue;
    }
    if (c === 125) { // }
      if (stack.length === 0) return null;
      const o = stack.pop();
      if (o === -1) { // end of a template substitution
        const s = i;
        i++;
        if (!scanTemplate(s)) return null;
        continue;
      }
      toks[o].m = toks.length;
      toks.push({ t: 'p', v: '}', s: i, e: i + 1, m: o });
      i++;
      continue;
    }
    // punctuators: the longest of these that matches
    const three = src.substr(i, 4);
    let p = null;
    for (const cand of ['>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=', '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<', '>>', '**']) {
      if (three.startsWith(cand)) { p = cand; break; }
    }
    if (p === null) p = src[i];
    toks.push({ t: 'p', v: p, s: i, e: i + p.length });
    i += p.length;
  }
  if (stack.length !== 0) return null;
  return toks;
}

function isIdStart(c) {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c > 127 || c === 92;
}

function isIdPart(c) {
  return isIdStart(c) || (c >= 48 && c <= 57);
}

// paramNames returns the simple parameter names between tokens a and b
// (exclusive), '' for a destructured or rest parameter.
function paramNames(toks, a, b) {
  const names = [];
  let depth = 0;
  let cur = null;
  let first = true;
  for (let k = a; k < b; k++) {
    const v = toks[k].v;
    if (toks[k].t === 'p' && (v === '(' || v === '[' || v === '{')) depth++;
    else if (toks[k].t === 'p' && (v === ')' || v === ']' || v === '}')) depth--;
    if (depth === 0 && toks[k].t === 'p' && v === ',') {
      names.push(cur === null ? '' : cur);
      cur = null;
      first = true;
      continue;
    }
    if (first) {
      cur = depth === 0 && toks[k].t === 'id' ? v : '';
      first = false;
    }
  }
  if (!first || cur !== null) names.push(cur === null ? '' : cur);
  return names;
}

// closeParen returns the index of the `)` matching the `(` at k, or -1.
function closeParen(toks, k) {
  let depth = 0;
  for (let j = k; j < toks.length; j++) {
    const v = toks[j].v;
    if (toks[j].t !== 'p') continue;
    if (v === '(') depth++;
    else if (v === ')') { depth--; if (depth === 0) return j; }
  }
  return -1;
}

// lineOf returns the 1-based line of offset off.
function lineOf(src, off) {
  let line = 1;
  for (let i = src.indexOf('\n'); i >= 0 && i < off; i = src.indexOf('\n', i + 1)) line++;
  return line;
}

// transform returns src with every definition of name rewritten, and the
// sites found ({line, kind, params}); src itself when there is none.
// filename goes into each site's key, which the hook uses to name the site.
// opts.concise also rewrites arrow functions whose body is an expression,
// whose end the scanner finds by rules a parser would not need (ASI): only
// for callers that check that the result still compiles.
function transform(src, name, filename, opts = {}) {
  if (typeof src !== 'string' || !src.includes(name) || src.includes(HOOK)) return { code: src, sites: [] };
  const toks = tokenize(src);
  if (toks === null) return { code: src, sites: [], unreadable: true };
  const edits = []; // [offset, text]
  const sites = [];
  const key = (k, kind, params, async) => {
    const site = { line: lineOf(src, toks[k].s), kind, params, async };
    sites.push(site);
    return JSON.stringify(JSON.stringify([filename, site.line, name, kind, params.join(",")]));
  };
  for (let k = 0; k < toks.length; k++) {
    const tk = toks[k];
    if (tk.t !== 'id' || tk.v !== name) continue;
    const prev = toks[k - 1];
    const next = toks[k + 1];
    if (!next) continue;
    // function NAME( ... ) {   (declaration or named expression)
    if (prev && prev.t === 'id' && prev.v === 'function' && next.v === '(') {
      const async = k >= 2 && toks[k - 2].v === 'async';
      wrapBody(k, k + 1, async, 'function');
      continue;
    }
    if (prev && prev.v === '*') continue; // a generator
    if (prev && prev.v === '.' && !(next.v === '=' )) continue; // a property access
    // NAME( ... ) {   (a method of a class or an object literal)
    if (next.v === '(' && prev && (prev.v === '{' || prev.v === '}' || prev.v === ';' || prev.v === ',' || prev.v === 'static' || prev.v === 'async')) {
      const cp = closeParen(toks, k + 1);
      if (cp > 0 && toks[cp + 1] && toks[cp + 1].v === '{' && !isBlockAfterCall(toks, k)) {
        wrapBody(k, k + 1, prev.v === 'async', 'method');
      }
      continue;
    }
    // NAME = function (...) {  /  NAME: async function (...) {  /  NAME = (...) => {
    if (next.v === '=' || next.v === ':') {
      let j = k + 2;
      let async = false;
      if (toks[j] && toks[j].v === 'async') { async = true; j++; }
      if (toks[j] && toks[j].v === 'function') {
        j++;
        if (toks[j] && toks[j].v === '*') continue;
        if (toks[j] && toks[j].t === 'id') j++;
        if (toks[j] && toks[j].v === '(') wrapBody(k, j, async, 'function');
        continue;
      }
      const start = async ? j - 1 : j;
      let pe;
      let params;
      if (toks[j] && toks[j].v === '(') {
        const cp = closeParen(toks, j);
        if (cp < 0) continue;
        params = paramNames(toks, j + 1, cp);
        pe = cp + 1;
      } else if (toks[j] && toks[j].t === 'id') {
        params = [toks[j].v];
        pe = j + 1;
      } else continue;
      if (!toks[pe] || toks[pe].v !== '=>' || !toks[pe + 1]) continue;
      let last;
      if (toks[pe + 1].v === '{') {
        last = toks[pe + 1].m;
      } else if (opts.concise) {
        last = exprEnd(toks, src, pe + 1);
      } else continue;
      if (!toks[last]) continue;
      const K = key(k, 'arrow', params, async);
      edits.push([toks[start].s, `(...__tracerArgs) => ${HOOK}.arrow(${K}, __tracerArgs, `]);
      edits.push([toks[last].e, ')']);
    }
  }
  if (edits.length === 0) return { code: src, sites };
  edits.sort((a, b) => b[0] - a[0]);
  let out = src;
  for (const [off, text] of edits) out = out.slice(0, off) + text + out.slice(off);
  return { code: out, sites };

  // wrapBody rewrites the body of the function whose name is token k and
  // whose parameters open at token po.
  function wrapBody(k, po, async, kind) {
    const cp = closeParen(toks, po);
    if (cp < 0 || !toks[cp + 1] || toks[cp + 1].v !== '{') return;
    const open = toks[cp + 1];
    const close = toks[open.m];
    if (!close) return;
    let at = open.e;
    // A "use strict" directive stays the function's own.
    const d = toks[cp + 2];
    if (d && d.t === 'str' && /^['"]use strict['"]$/.test(d.v)) {
      at = d.e;
      if (toks[cp + 3] && toks[cp + 3].v === ';') at = toks[cp + 3].e;
    }
    const K = key(k, kind, paramNames(toks, po + 1, cp), async);
    edits.push([at, ` return ${HOOK}.call(${K}, this, arguments, ${async ? 'async ' : ''}() => {`]);
    edits.push([close.s, '});']);
  }
}

// CONTINUES are the tokens that, first on a line, continue the expression of
// the line before (no semicolon is inserted before them).
const CONTINUES = new Set(['.', '?.', '(', '[', '?', ':', '+', '-', '*', '/', '%', '**', '&&', '||', '??',
  '==', '===', '!=', '!==', '<', '>', '<=', '>=', '&', '|', '^', '<<', '>>', '>>>', '=>', 'instanceof', 'in']);

// exprEnd returns the index of the last token of the expression that starts
// at token k0 (the body of a concise arrow function), or -1.
function exprEnd(toks, src, k0) {
  let depth = 0;
  let last = -1;
  for (let k = k0; k < toks.length; k++) {
    const tk = toks[k];
    if (depth === 0 && k > k0) {
      const prev = toks[k - 1];
      const gap = src.slice(prev.e, tk.s);
      const ends = prev.t !== 'p' || prev.v === ')' || prev.v === ']' || prev.v === '}';
      if (ends && (gap.includes('\n') || gap.includes('\r')) && !CONTINUES.has(tk.v)) break;
    }
    if (tk.t === 'p') {
      const v = tk.v;
      if (depth === 0 && (v === ';' || v === ',' || v === ')' || v === ']' || v === '}')) break;
      if (v === '(' || v === '[' || v === '{') depth++;
      else if (v === ')' || v === ']' || v === '}') depth--;
    } else if (tk.t === 'tpl') {
      if (src[tk.s] === '}') depth--;
      if (tk.v === '${') depth++;
    }
    last = k;
  }
  return depth === 0 ? last : -1;
}

// isBlockAfterCall tells a call followed by a block (`f(x)\n{`) from a
// method: a method's name follows `{`, `}`, `;` or `,` inside a class body or
// an object literal, which the scanner does not track, so it looks at what
// comes before: a statement context before the name makes it a call.
function isBlockAfterCall(toks, k) {
  // Find the brace that encloses token k.
  let depth = 0;
  for (let j = k - 1; j >= 0; j--) {
    const v = toks[j].v;
    if (toks[j].t !== 'p') continue;
    if (v === '}') depth++;
    else if (v === '{') {
      if (depth === 0) {
        // Class body: `class X {` or `class X extends Y {`; object literal:
        // `{` after `=`, `(`, `,`, `:`, `[`, `return`, `?`, `=>`? (no: a block).
        for (let b = j - 1; b >= 0 && b >= j - 8; b--) {
          if (toks[b].v === 'class') return false;
          if (toks[b].v === ';' || toks[b].v === '}' || toks[b].v === '{') break;
        }
        const p = toks[j - 1];
        if (!p) return true;
        return !(p.v === '=' || p.v === '(' || p.v === ',' || p.v === ':' || p.v === '[' || p.v === 'return' || p.v === '?' || p.v === '||' || p.v === '&&' || p.v === '??');
      }
      depth--;
    }
  }
  return true;
}

module.exports = { transform, tokenize };
