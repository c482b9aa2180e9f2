// sinkscope attention viewer: the page's script (embedded by report/attention_view.cpp).
// Data: #ss-meta (JSON: tokens, scores, where each head's pattern is), #ss-p<run> (each head's
// b-bit codes of its lower triangle, zlib-deflated, base64, concatenated), #ss-t<run> (the
// max-pooled thumbnails). Patterns are inflated only when a head is opened.
(() => {
  'use strict';
  const t0 = performance.now();
  const meta = JSON.parse(document.getElementById('ss-meta').textContent);
  const L = meta.layers, H = meta.heads;
  const $ = (id) => document.getElementById(id);
  const SVGNS = 'http://www.w3.org/2000/svg';

  const state = {
    run: meta.start, layer: 0, head: 0, scale: 'sqrt',
    hover: null,  // {side: 'q'|'k', index} of the hovered token
  };

  // --- colours: white through blue to navy, by sqrt(α) or α ---
  const STOPS = [[255, 255, 255], [222, 235, 247], [158, 202, 225], [66, 146, 198], [8, 81, 156],
    [8, 38, 94]];
  const LUT = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255 * (STOPS.length - 1), j = Math.min(Math.floor(x), STOPS.length - 2), f = x - j;
    for (let c = 0; c < 3; c++) LUT[i * 3 + c] = STOPS[j][c] + (STOPS[j + 1][c] - STOPS[j][c]) * f;
  }
  const shade = (a) => (state.scale === 'sqrt' ? Math.sqrt(Math.max(0, a)) : Math.max(0, Math.min(1, a)));
  const lutIndex = (a) => Math.min(255, Math.round(shade(a) * 255));
  const MASKED = [238, 240, 243];
  // A token's background by weight: light enough that its text stays readable.
  const tint = (a) => `rgba(31, 95, 191, ${(0.06 + 0.5 * shade(a)).toFixed(3)})`;

  // --- data ---
  async function inflate(b64) {
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  const dataText = new Map();
  const text = (id) => {
    if (!dataText.has(id)) dataText.set(id, $(id).textContent);
    return dataText.get(id);
  };
  const thumbCache = new Map(), patternCache = new Map();
  function thumbs(r) {
    if (!thumbCache.has(r)) thumbCache.set(r, inflate(text('ss-t' + r)));
    return thumbCache.get(r);
  }
  // {codes, step, T, run} of head i of run r; codes[t(t+1)/2 + k] = round(α / step).
  function pattern(r, i) {
    const run = meta.runs[r];
    const src = run.same_as[i] >= 0 ? run.same_as[i] : r;
    const key = src + ':' + i;
    if (!patternCache.has(key)) {
      const s = meta.runs[src];
      const b64 = text('ss-p' + src).substr(s.offset[i], s.length[i]);
      patternCache.set(key, inflate(b64).then((codes) => ({
        codes, step: 1 / ((1 << s.bits[i]) - 1), bits: s.bits[i], T: s.ids.length })));
    }
    return patternCache.get(key);
  }
  const alpha = (p, t, k) => (k > t ? 0 : p.codes[t * (t + 1) / 2 + k] * p.step);
  const runOf = (bos, ablated) => meta.runs.findIndex((r) => r.bos === bos && r.ablated === ablated);
  const fmt = (v) => v.toFixed(4);
  // A token as text: control characters escaped, and a token of spaces only made visible.
  const tokText = (s) => {
    const t = JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"');
    return t.trim() === '' ? t.replace(/ /g, '\u2423') : t;
  };

  // --- header and controls ---
  const cur = () => meta.runs[state.run];
  function setRun(r) {
    if (r < 0 || r === state.run) return;
    state.run = r;
    state.hover = null;
    refresh();
  }
  function controls() {
    const bosOn = $('bos-on'), bosOff = $('bos-off'), ablOff = $('abl-off'), ablOn = $('abl-on');
    const r = cur();
    bosOn.classList.toggle('on', r.bos); bosOff.classList.toggle('on', !r.bos);
    ablOff.classList.toggle('on', !r.ablated); ablOn.classList.toggle('on', r.ablated);
    bosOn.disabled = runOf(true, r.ablated) < 0; bosOff.disabled = runOf(false, r.ablated) < 0;
    ablOn.disabled = runOf(r.bos, true) < 0; ablOff.disabled = runOf(r.bos, false) < 0;
    $('sc-sqrt').classList.toggle('on', state.scale === 'sqrt');
    $('sc-lin').classList.toggle('on', state.scale !== 'sqrt');
  }
  $('bos-on').onclick = () => setRun(runOf(true, cur().ablated));
  $('bos-off').onclick = () => setRun(runOf(false, cur().ablated));
  $('abl-on').onclick = () => setRun(runOf(cur().bos, true));
  $('abl-off').onclick = () => setRun(runOf(cur().bos, false));
  $('sc-sqrt').onclick = () => { state.scale = 'sqrt'; refresh(); };
  $('sc-lin').onclick = () => { state.scale = 'linear'; refresh(); };
  const legend = $('legend');
  function drawLegend() {
    const ctx = legend.getContext('2d'), img = ctx.createImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      const j = lutIndex(i / 255) * 3;
      img.data.set([LUT[j], LUT[j + 1], LUT[j + 2], 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }

  // --- the layer × head grid ---
  const grid = $('grid'), tip = $('tip');
  const cells = [];
  const isAblated = (l, h) => meta.ablated.some(([a, b]) => a === l && b === h);
  function buildGrid() {
    const px = Math.max(22, Math.min(64, Math.floor(1080 / H) - 4));
    grid.style.gridTemplateColumns = `36px repeat(${H}, ${px}px)`;
    grid.appendChild(document.createElement('div'));
    for (let h = 0; h < H; h++) {
      const d = document.createElement('div');
      d.className = 'ax'; d.textContent = 'H' + h;
      grid.appendChild(d);
    }
    for (let l = 0; l < L; l++) {
      const d = document.createElement('div');
      d.className = 'ax row'; d.textContent = 'L' + l;
      grid.appendChild(d);
      for (let h = 0; h < H; h++) {
        const cell = document.createElement('div');
        cell.className = 'th';
        cell.style.height = px + 'px';
        cell.dataset.head = `L${l}H${h}`;
        const cv = document.createElement('canvas');
        cell.appendChild(cv);
        cell.onclick = () => select(l, h);
        cell.onmousemove = (e) => showTip(e, l, h);
        cell.onmouseleave = () => { tip.style.display = 'none'; };
        grid.appendChild(cell);
        cells.push(cell);
      }
    }
  }
  function showTip(e, l, h) {
    const r = cur(), s = r.scores[l * H + h];
    const sink = s > meta.eps;
    tip.innerHTML = `<b>L${l} H${h}</b> · bos_sink_score <b>${fmt(s)}</b>` +
      (sink ? ' · sink head' : '') + (r.ablated && isAblated(l, h) ? ' · zeroed' : '');
    tip.style.display = 'block';
    tip.style.left = (e.clientX + 14) + 'px';
    tip.style.top = (e.clientY + 14) + 'px';
    tip.dataset.head = `L${l}H${h}`;
    tip.dataset.score = s;
  }
  async function drawGrid() {
    const r = cur(), S = r.thumb, rr = state.run;
    const data = await thumbs(rr);
    if (rr !== state.run) return;
    for (let i = 0; i < L * H; i++) {
      const cell = cells[i], cv = cell.firstChild, l = Math.floor(i / H), h = i % H;
      cell.classList.toggle('sink', r.scores[i] > meta.eps);
      cell.classList.toggle('abl', r.ablated && isAblated(l, h));
      cell.classList.toggle('sel', l === state.layer && h === state.head);
      if (cv.width !== S) { cv.width = S; cv.height = S; }
      const ctx = cv.getContext('2d'), img = ctx.createImageData(S, S);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const o = (y * S + x) * 4;
          if (x > y) { img.data.set(MASKED, o); img.data[o + 3] = 255; continue; }
          const j = lutIndex(data[i * S * S + y * S + x] / 255) * 3;
          img.data[o] = LUT[j]; img.data[o + 1] = LUT[j + 1]; img.data[o + 2] = LUT[j + 2];
          img.data[o + 3] = 255;
        }
      }
      ctx.putImageData(img, 0, 0);
    }
  }

  // --- the selected head: full pattern ---
  const pcv = $('pattern'), pbox = $('pattern-box');
  let shown = null;  // the pattern on screen: {p, run, layer, head}
  function select(l, h) {
    state.layer = l; state.head = h; state.hover = null;
    history.replaceState(null, '', '#' + `L${l}H${h}` + (cur().bos ? '' : '&bos=off') +
      (cur().ablated ? '&ablate=on' : ''));
    refresh();
  }
  async function drawPattern() {
    const r = state.run, l = state.layer, h = state.head, i = l * H + h;
    const p = await pattern(r, i);
    if (r !== state.run || l !== state.layer || h !== state.head) return false;
    const T = p.T;
    pcv.width = T; pcv.height = T;
    const ctx = pcv.getContext('2d'), img = ctx.createImageData(T, T);
    for (let t = 0; t < T; t++) {
      const base = t * (t + 1) / 2;
      for (let k = 0; k < T; k++) {
        const o = (t * T + k) * 4;
        if (k > t) { img.data.set(MASKED, o); img.data[o + 3] = 255; continue; }
        const j = lutIndex(p.codes[base + k] * p.step) * 3;
        img.data[o] = LUT[j]; img.data[o + 1] = LUT[j + 1]; img.data[o + 2] = LUT[j + 2];
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    const run = cur(), s = run.scores[i];
    $('head-title').innerHTML = `Layer ${l} · Head ${h} <span class="score">— bos_sink_score ` +
      `${fmt(s)}</span>` + (s > meta.eps ? '<span class="badge">sink head</span>' : '') +
      (run.ablated && isAblated(l, h) ? '<span class="badge abl">zeroed</span>' : '');
    $('head-sub').textContent = `${run.name} · ${T} tokens · stored with ${p.bits}-bit codes ` +
      `(values within ±${fmt(p.step / 2)})`;
    shown = { p, run: r, layer: l, head: h };
    const ro = $('readout');  // a value of the head or run shown before is stale
    ro.textContent = 'Hover the pattern for a cell\'s α.';
    delete ro.dataset.q; delete ro.dataset.k; delete ro.dataset.value;
    pcv.dataset.head = `L${l}H${h}`;
    pcv.dataset.run = r;
    return true;
  }
  function cellAt(e) {
    if (!shown) return null;
    const b = pcv.getBoundingClientRect(), T = shown.p.T;
    const k = Math.floor((e.clientX - b.left) / b.width * T), t = Math.floor((e.clientY - b.top) / b.height * T);
    if (t < 0 || k < 0 || t >= T || k >= T) return null;
    return { t, k };
  }
  pcv.addEventListener('mousemove', (e) => {
    const c = cellAt(e), ro = $('readout');
    const ch = $('cross-h'), cvv = $('cross-v');
    if (!c) { ro.textContent = ''; ch.style.display = cvv.style.display = 'none'; return; }
    const { p } = shown, toks = meta.runs[shown.run].tokens, T = p.T, cs = 520 / T;
    const v = alpha(p, c.t, c.k);
    ro.innerHTML = `query ${c.t} <code>${esc(tokText(toks[c.t]))}</code> → key ${c.k} ` +
      `<code>${esc(tokText(toks[c.k]))}</code>: α = <b>${c.k > c.t ? '–' : fmt(v)}</b>`;
    ro.dataset.q = c.t; ro.dataset.k = c.k; ro.dataset.value = c.k > c.t ? '' : fmt(v);
    ch.style.display = cvv.style.display = 'block';
    Object.assign(ch.style, { left: '0', top: c.t * cs + 'px', width: '100%', height: Math.max(1, cs) + 'px' });
    Object.assign(cvv.style, { top: '0', left: c.k * cs + 'px', height: '100%', width: Math.max(1, cs) + 'px' });
  });
  pcv.addEventListener('mouseleave', () => {
    $('cross-h').style.display = $('cross-v').style.display = 'none';
  });
  const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

  // --- tokens, bertviz-style: queries on the left, keys on the right ---
  const ROW = 18, XL = 170, XR = 290, W = 470, TOP = 24;
  const tsvg = $('tokens');
  let tokRun = -1;
  function buildTokens() {
    const run = cur(), T = run.tokens.length;
    if (tokRun === state.run) return;
    tokRun = state.run;
    tsvg.innerHTML = '';
    tsvg.setAttribute('width', W);
    tsvg.setAttribute('height', TOP + T * ROW + 6);
    const head = (x, anchor, s) => {
      const t = document.createElementNS(SVGNS, 'text');
      t.setAttribute('x', x); t.setAttribute('y', 14); t.setAttribute('text-anchor', anchor);
      t.setAttribute('class', 'colhead'); t.textContent = s;
      tsvg.appendChild(t);
    };
    head(XL, 'end', 'query (attends) →');
    head(XR, 'start', '→ key (attended)');
    const lines = document.createElementNS(SVGNS, 'g');
    lines.id = 'lines';
    tsvg.appendChild(lines);
    for (const side of ['q', 'k']) {
      for (let i = 0; i < T; i++) {
        const g = document.createElementNS(SVGNS, 'g');
        g.setAttribute('class', 'tok');
        g.dataset.side = side; g.dataset.index = i;
        const y = TOP + i * ROW;
        const bg = document.createElementNS(SVGNS, 'rect');
        bg.setAttribute('class', 'bg');
        bg.setAttribute('x', side === 'q' ? 4 : XR - 2); bg.setAttribute('y', y);
        bg.setAttribute('width', side === 'q' ? XL - 2 : W - XR - 2);
        bg.setAttribute('height', ROW - 2); bg.setAttribute('rx', 3);
        const t = document.createElementNS(SVGNS, 'text');
        t.setAttribute('x', side === 'q' ? XL - 2 : XR + 2);
        t.setAttribute('y', y + 12.5);
        t.setAttribute('text-anchor', side === 'q' ? 'end' : 'start');
        const label = tokText(run.tokens[i]);
        t.textContent = label.length > 22 ? label.slice(0, 21) + '…' : label;
        g.appendChild(bg); g.appendChild(t);
        g.addEventListener('mouseenter', () => { state.hover = { side, index: i }; drawLines(); });
        g.addEventListener('mouseleave', () => { state.hover = null; drawLines(); });
        tsvg.appendChild(g);
      }
    }
  }
  function drawLines() {
    const g = $('lines');
    if (!g || !shown) return;
    const { p } = shown, T = p.T, hv = state.hover;
    g.innerHTML = '';
    const bgs = tsvg.querySelectorAll('g.tok rect.bg');
    bgs.forEach((b) => { b.style.fill = ''; });
    const segs = [];
    if (hv) {
      if (hv.side === 'q') for (let k = 0; k <= hv.index; k++) segs.push([hv.index, k, alpha(p, hv.index, k)]);
      else for (let t = hv.index; t < T; t++) segs.push([t, hv.index, alpha(p, t, hv.index)]);
    } else {
      // Overview: the strongest cells only.
      for (let t = 0; t < T; t++) for (let k = 0; k <= t; k++) {
        const a = alpha(p, t, k);
        if (a >= 0.1) segs.push([t, k, a]);
      }
      segs.sort((x, y) => y[2] - x[2]);
      segs.length = Math.min(segs.length, 1500);
    }
    const frag = document.createDocumentFragment();
    let drawn = 0;
    for (const [t, k, a] of segs) {
      if (!(a > 0)) continue;
      const ln = document.createElementNS(SVGNS, 'line');
      ln.setAttribute('x1', XL + 4); ln.setAttribute('y1', TOP + t * ROW + ROW / 2 - 1);
      ln.setAttribute('x2', XR - 6); ln.setAttribute('y2', TOP + k * ROW + ROW / 2 - 1);
      const o = shade(a);
      ln.setAttribute('stroke-opacity', (hv ? Math.max(0.08, o) : o * 0.5).toFixed(3));
      ln.setAttribute('stroke-width', (hv ? 1 + 3 * o : 1).toFixed(2));
      ln.dataset.q = t; ln.dataset.k = k; ln.dataset.value = fmt(a);
      frag.appendChild(ln);
      drawn++;
      if (hv) {  // colour the other side's token by its weight
        const other = hv.side === 'q' ? T + k : t;
        bgs[other].style.fill = tint(a);
      }
    }
    g.appendChild(frag);
    if (hv) bgs[(hv.side === 'q' ? 0 : T) + hv.index].style.fill = '#ffe8cc';
    g.dataset.count = drawn;
    const run = cur();
    if (hv) {
      const top = segs.filter((s) => s[2] > 0).sort((x, y) => y[2] - x[2]).slice(0, 3)
        .map(([t, k, a]) => `<code>${esc(tokText(run.tokens[hv.side === 'q' ? k : t]))}</code> ${fmt(a)}`);
      $('tok-readout').innerHTML = (hv.side === 'q'
        ? `query ${hv.index} <code>${esc(tokText(run.tokens[hv.index]))}</code> attends most to: `
        : `key ${hv.index} <code>${esc(tokText(run.tokens[hv.index]))}</code> is attended most by: `) +
        top.join(', ');
    } else {
      $('tok-readout').textContent = 'Hover a token: left, where it looks; right, who looks at it.';
    }
  }

  // --- export ---
  function exportSvg() {
    if (!shown) return '';
    const run = meta.runs[shown.run], T = shown.p.T, P = 480, top = 56;
    const rows = run.tokens.length;
    const tokH = TOP + rows * ROW + 6;
    const width = P + 60 + W + 20, height = Math.max(top + P + 60, top + tokH + 10);
    const s = run.scores[shown.layer * H + shown.head];
    const x = (v) => String(v).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
    let out = `<svg xmlns="${SVGNS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="system-ui, Helvetica, Arial, sans-serif">` +
      `<rect width="100%" height="100%" fill="#fff"/>` +
      `<text x="20" y="26" font-size="17" font-weight="600" fill="#1d2430">Layer ${shown.layer} · Head ${shown.head}` +
      ` — bos_sink_score ${fmt(s)}${s > meta.eps ? ' (sink head)' : ''}</text>` +
      `<text x="20" y="45" font-size="12" fill="#5d6776">${x(meta.model)} · ${x(run.name)} · ${T} tokens · ` +
      `colour ${state.scale === 'sqrt' ? '√α' : 'α'}</text>` +
      `<image x="20" y="${top}" width="${P}" height="${P}" preserveAspectRatio="none" ` +
      `style="image-rendering:pixelated" href="${pcv.toDataURL('image/png')}"/>` +
      `<rect x="20" y="${top}" width="${P}" height="${P}" fill="none" stroke="#c9ced8"/>` +
      `<text x="${20 + P / 2}" y="${top + P + 18}" font-size="11" text-anchor="middle" fill="#5d6776">key →</text>` +
      `<text x="12" y="${top + P / 2}" font-size="11" text-anchor="middle" fill="#5d6776" ` +
      `transform="rotate(-90 12 ${top + P / 2})">query →</text>`;
    const gx = P + 60;
    out += `<g transform="translate(${gx} ${top - TOP + 4})" font-family="Menlo, Consolas, monospace" font-size="12">`;
    for (const ln of $('lines').querySelectorAll('line')) {
      out += `<line x1="${ln.getAttribute('x1')}" y1="${ln.getAttribute('y1')}" x2="${ln.getAttribute('x2')}" ` +
        `y2="${ln.getAttribute('y2')}" stroke="#1f5fbf" stroke-linecap="round" stroke-opacity="` +
        `${ln.getAttribute('stroke-opacity')}" stroke-width="${ln.getAttribute('stroke-width')}"/>`;
    }
    const bgs = tsvg.querySelectorAll('g.tok');
    bgs.forEach((g) => {
      const rect = g.firstChild, t = g.lastChild, fill = rect.style.fill;
      if (fill) {
        out += `<rect x="${rect.getAttribute('x')}" y="${rect.getAttribute('y')}" width="${rect.getAttribute('width')}" ` +
          `height="${rect.getAttribute('height')}" rx="3" fill="${fill}"/>`;
      }
      out += `<text x="${t.getAttribute('x')}" y="${t.getAttribute('y')}" text-anchor="${t.getAttribute('text-anchor')}" ` +
        `fill="#263040" xml:space="preserve">${x(t.textContent)}</text>`;
    });
    out += '</g></svg>';
    return out;
  }
  function exportPng() {
    const svgText = exportSvg();
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => {
        const c = document.createElement('canvas');
        c.width = img.width * 2; c.height = img.height * 2;
        const ctx = c.getContext('2d');
        ctx.scale(2, 2);
        ctx.drawImage(img, 0, 0);
        resolve(c.toDataURL('image/png'));
      };
      img.onerror = () => reject(new Error('the SVG did not load'));
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svgText);
    });
  }
  function download(name, href) {
    const a = document.createElement('a');
    a.href = href; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }
  const fileName = (ext) => `sinkscope-L${state.layer}H${state.head}-${cur().bos ? 'bos' : 'nobos'}` +
    `${cur().ablated ? '-ablated' : ''}.${ext}`;
  $('export-svg').onclick = () => download(fileName('svg'),
    URL.createObjectURL(new Blob([exportSvg()], { type: 'image/svg+xml' })));
  $('export-png').onclick = () => exportPng().then((u) => download(fileName('png'), u));

  // --- putting it together ---
  let pending = Promise.resolve();
  function refresh() {
    controls();
    drawLegend();
    buildTokens();
    pending = Promise.all([drawGrid(), drawPattern()]).then(() => drawLines());
    return pending;
  }
  function fromHash() {
    const h = decodeURIComponent(location.hash.slice(1));
    const m = /L(\d+)H(\d+)/.exec(h);
    const bos = /bos=off/.test(h) ? false : /bos=on/.test(h) ? true : cur().bos;
    const abl = /ablate=on/.test(h);
    const r = runOf(bos, abl);
    if (r >= 0) state.run = r;
    if (m && +m[1] < L && +m[2] < H) { state.layer = +m[1]; state.head = +m[2]; return true; }
    return false;
  }
  window.addEventListener('hashchange', () => { fromHash(); state.hover = null; refresh(); });

  buildGrid();
  if (!fromHash()) {  // open the strongest sink head
    const sc = cur().scores;
    let best = 0;
    for (let i = 1; i < sc.length; i++) if (sc[i] > sc[best]) best = i;
    state.layer = Math.floor(best / H); state.head = best % H;
  }
  const ready = refresh().then(() => {
    const ms = performance.now();
    document.body.dataset.ready = '1';
    document.body.dataset.readyMs = ms.toFixed(0);
    document.body.dataset.scriptMs = (ms - t0).toFixed(0);
    return ms;
  });
  window.sinkscopeView = {
    ready, exportSvg, exportPng, state, meta,
    select: (l, h) => { select(l, h); return pending; },
    settled: () => pending,
  };
})();
