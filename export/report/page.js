// The report's flame graph: one per implementation, drawn from the
// aggregated trees in #flame-data ([name, total, child…], names indexing
// the implementation's name table). No library, no network.
(function () {
  'use strict';
  var dataEl = document.getElementById('flame-data');
  if (!dataEl) { return; }
  var data = JSON.parse(dataEl.textContent);
  var filterSel = document.getElementById('flame-filter');
  var search = document.getElementById('flame-search');
  var matchOut = document.getElementById('flame-match');
  var resetBtn = document.getElementById('flame-reset');
  var tip = document.getElementById('flame-tip');
  var host = document.getElementById('flames');
  var ROW = 18;
  var HUES = [[18, 40], [200, 225], [95, 140], [48, 62], [0, 0]]; // native, kernel, python, js, other

  function build(arr, parent) {
    var n = { name: arr[0], total: arr[1], parent: parent, children: [], self: arr[1] };
    for (var i = 2; i < arr.length; i++) {
      var c = build(arr[i], n);
      n.children.push(c);
      n.self -= c.total;
    }
    return n;
  }

  function hash(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) { h = (h * 31 + s.charCodeAt(i)) | 0; }
    return Math.abs(h);
  }

  function colour(impl, name) {
    var kind = impl.kinds[name];
    var hr = HUES[kind] || HUES[4];
    var s = impl.names[name];
    var h = hash(s);
    if (kind === 4 || kind === undefined) { return 'hsl(0,0%,' + (72 + h % 12) + '%)'; }
    return 'hsl(' + (hr[0] + h % (hr[1] - hr[0] + 1)) + ',' + (55 + h % 25) + '%,' + (62 + (h >> 3) % 14) + '%)';
  }

  var matcher = null;
  function setMatcher(q) {
    matcher = null;
    if (!q) { return; }
    if (q.length > 2 && q[0] === '/' && q[q.length - 1] === '/') {
      try { var re = new RegExp(q.slice(1, -1), 'i'); matcher = function (s) { return re.test(s); }; } catch (e) { matcher = null; }
      return;
    }
    var lq = q.toLowerCase();
    matcher = function (s) { return s.toLowerCase().indexOf(lq) >= 0; };
  }

  function pct(n, total) { return total > 0 ? (100 * n / total).toFixed(1) + '%' : '0%'; }

  var views = data.impls.map(function (impl, i) {
    var panel = document.createElement('div');
    panel.className = 'flame-panel';
    panel.id = 'flame-' + i;
    panel.dataset.impl = impl.name;
    var title = document.createElement('h3');
    var graph = document.createElement('div');
    graph.className = 'flame-graph';
    var scroll = document.createElement('div');
    scroll.className = 'flame-scroll';
    scroll.appendChild(graph);
    panel.appendChild(title);
    panel.appendChild(scroll);
    host.appendChild(panel);
    var v = { impl: impl, panel: panel, title: title, graph: graph, cache: {}, focus: null, nodes: [] };
    graph.addEventListener('mousemove', function (ev) { showTip(v, ev); });
    graph.addEventListener('mouseleave', function () { tip.hidden = true; });
    graph.addEventListener('click', function (ev) {
      var t = ev.target.closest('.fr');
      if (!t) { return; }
      var n = v.nodes[+t.dataset.i];
      v.focus = (n === v.focus && n.parent) ? n.parent : n;
      render(v);
    });
    return v;
  });
  if (views.length > 1) { host.classList.add('two'); }

  function tree(v) {
    var f = filterSel.value;
    if (!(f in v.cache)) {
      var arr = v.impl.trees[f];
      v.cache[f] = arr ? build(arr, null) : null;
    }
    return v.cache[f];
  }

  function render(v) {
    var root = tree(v);
    var label = filterSel.options[filterSel.selectedIndex].text;
    v.graph.textContent = '';
    v.nodes = [];
    v.panel.dataset.filter = filterSel.value;
    if (!root || root.total === 0) {
      v.title.textContent = v.impl.name + ': no samples (' + label + ')';
      v.panel.dataset.total = '0';
      v.panel.dataset.nodes = '0';
      v.graph.style.height = ROW + 'px';
      v.matched = 0;
      v.root = null;
      return;
    }
    v.root = root;
    var focus = v.focus || root;
    var width = v.graph.clientWidth || 600;
    var frag = document.createDocumentFragment();
    var maxDepth = 0;
    var matched = 0;
    function box(n, depth, x, w, inMatch) {
      var m = matcher !== null && matcher(v.impl.names[n.name]);
      if (m && !inMatch) { matched += n.total; }
      if (w * width >= 0.6) {
        var d = document.createElement('div');
        d.className = 'fr' + (m ? ' match' : '') + (n === focus ? ' focus' : '');
        d.style.left = (100 * x) + '%';
        d.style.width = (100 * w) + '%';
        d.style.top = (depth * ROW) + 'px';
        d.style.background = m ? '' : colour(v.impl, n.name);
        d.dataset.i = v.nodes.length;
        v.nodes.push(n);
        if (w * width > 28) { d.textContent = v.impl.names[n.name]; }
        frag.appendChild(d);
        maxDepth = Math.max(maxDepth, depth);
      } else if (matcher === null) {
        return; // nothing narrower can be drawn, and no match to count
      }
      var cx = x;
      for (var i = 0; i < n.children.length; i++) {
        var c = n.children[i];
        var cw = w * c.total / n.total;
        box(c, depth + 1, cx, cw, inMatch || m);
        cx += cw;
      }
    }
    var path = [];
    for (var a = focus.parent; a; a = a.parent) { path.unshift(a); }
    var inMatch = false;
    path.forEach(function (a, depth) {
      var d = document.createElement('div');
      var m = matcher !== null && matcher(v.impl.names[a.name]);
      d.className = 'fr ancestor' + (m ? ' match' : '');
      d.style.left = '0%';
      d.style.width = '100%';
      d.style.top = (depth * ROW) + 'px';
      d.style.background = m ? '' : colour(v.impl, a.name);
      d.dataset.i = v.nodes.length;
      v.nodes.push(a);
      d.textContent = v.impl.names[a.name];
      frag.appendChild(d);
      inMatch = inMatch || m;
    });
    box(focus, path.length, 0, 1, inMatch);
    if (inMatch) { matched = focus.total; }
    v.graph.appendChild(frag);
    v.graph.style.height = ((Math.max(maxDepth, path.length) + 1) * ROW) + 'px';
    v.matched = matched;
    v.panel.dataset.total = String(root.total);
    v.panel.dataset.nodes = String(v.nodes.length);
    v.title.textContent = v.impl.name + ': ' + root.total + ' samples (' + label + ')' +
      (focus !== root ? ', zoomed to ' + v.impl.names[focus.name] : '');
  }

  function showTip(v, ev) {
    var t = ev.target.closest('.fr');
    if (!t) { tip.hidden = true; return; }
    var n = v.nodes[+t.dataset.i];
    var total = v.root ? v.root.total : 0;
    tip.textContent = '';
    var name = document.createElement('b');
    name.textContent = v.impl.names[n.name];
    tip.appendChild(name);
    [
      'total: ' + n.total + ' samples, ' + pct(n.total, total) + ' of the samples shown (' + filterSel.options[filterSel.selectedIndex].text + ')',
      'self: ' + n.self + ' samples, ' + pct(n.self, total),
    ].forEach(function (line) {
      var d = document.createElement('div');
      d.textContent = line;
      tip.appendChild(d);
    });
    tip.hidden = false;
    var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = ev.clientY + 16;
    if (y + tip.offsetHeight > window.innerHeight) { y = ev.clientY - tip.offsetHeight - 8; }
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }

  function renderAll() {
    views.forEach(render);
    if (matcher === null) {
      matchOut.textContent = '';
      return;
    }
    matchOut.textContent = 'matched: ' + views.map(function (v) {
      return v.impl.name + ' ' + pct(v.matched, v.root ? v.root.total : 0);
    }).join(', ');
  }

  filterSel.addEventListener('change', function () {
    views.forEach(function (v) { v.focus = null; });
    renderAll();
  });
  search.addEventListener('input', function () { setMatcher(search.value.trim()); renderAll(); });
  resetBtn.addEventListener('click', function () {
    views.forEach(function (v) { v.focus = null; });
    renderAll();
  });
  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderAll, 100);
  });
  renderAll();
}());
