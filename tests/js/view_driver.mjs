// Drives the attention viewer (sinkscope view) in headless Chromium over the DevTools protocol
// on a pipe (--remote-debugging-pipe: no npm package, no port). Checks that the page reacts to a
// click on a head, a hover on a pattern cell and on tokens, the BOS and ablation toggles, the
// URL hash and the exports, against `sinkscope forward --json --attention`; prints the time to
// interactive and saves screenshots and the exports in OUT_DIR.
//
// usage: node view_driver.mjs CHROMIUM VIEW.html FORWARD.json OUT_DIR [--tti-only]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [chromium, page, refPath, outDir, mode] = process.argv.slice(2);
const ttiOnly = mode === '--tti-only';
const ref = ttiOnly ? null : JSON.parse(readFileSync(refPath, 'utf8'));
const profile = mkdtempSync(join(tmpdir(), 'sinkscope-view-'));
const proc = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic', '--hide-scrollbars', `--user-data-dir=${profile}`, '--remote-debugging-pipe',
  'about:blank'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
const toBrowser = proc.stdio[3], fromBrowser = proc.stdio[4];

let nextId = 1, buffer = Buffer.alloc(0);
const waiting = new Map();
fromBrowser.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (let end; (end = buffer.indexOf(0)) >= 0;) {
    const msg = JSON.parse(buffer.subarray(0, end).toString('utf8'));
    buffer = buffer.subarray(end + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

async function main() {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId: s } = await send('Target.attachToTarget', { targetId, flatten: true });
  const cmd = (m, p) => send(m, p, s);
  await cmd('Page.enable');
  await cmd('Runtime.enable');
  await cmd('Emulation.setDeviceMetricsOverride', { width: 1400, height: 1250, deviceScaleFactor: 1, mobile: false });
  const js = async (expression) => {
    const r = await cmd('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  };
  const shot = async (name) => {
    const { data } = await cmd('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    writeFileSync(join(outDir, name), Buffer.from(data, 'base64'));
  };
  const url = 'file://' + page;
  async function open(u) {
    const start = Date.now();
    await cmd('Page.navigate', { url: u });
    for (;;) {
      const ok = await js('!!(document.body && document.body.dataset.ready)').catch(() => false);
      if (ok) break;
      if (Date.now() - start > 60000) throw new Error('the page did not become interactive in 60 s');
      await sleep(20);
    }
    return { wall: Date.now() - start, page: +(await js('document.body.dataset.readyMs')) };
  }
  const mouse = async (type, x, y) => cmd('Input.dispatchMouseEvent',
    { type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', clickCount: type === 'mouseMoved' ? 0 : 1 });
  // The centre of an element, scrolled into view.
  const centre = (sel) => js(`(() => { const e = document.querySelector(${JSON.stringify(sel)});
    if (!e) return null; e.scrollIntoView({block: 'center', inline: 'center'});
    const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`);
  const settle = () => js('window.sinkscopeView.settled().then(() => true)');

  const tti = await open(url);
  console.log(`time to interactive: ${tti.page} ms from navigation start (page), ${tti.wall} ms measured by the driver`);
  check(tti.page <= 3000, `interactive in ${tti.page} ms <= 3000 ms`);
  const size = await js('document.documentElement.outerHTML.length');
  console.log(`page: ${(size / 1e6).toFixed(2)} M characters`);
  await shot(ttiOnly ? 'view-large.png' : 'view-initial.png');
  if (ttiOnly) return;

  const meta = await js('window.sinkscopeView.meta');
  const L = meta.layers, H = meta.heads;
  const on = meta.runs.findIndex((r) => r.bos && !r.ablated);
  check(on === meta.start, 'opens with the BOS-on run');
  check(JSON.stringify(meta.runs[on].ids) === JSON.stringify(ref.ids), 'the BOS-on run has forward\'s ids');
  const T = ref.ids.length;
  const bosScore = (l, h) => ref.attention[l][h].reduce((a, row) => a + row[0], 0) / T;

  // Click a head that is not the one open: the one whose rows spread most (the most cells with
  // α >= 0.02), so the values compared below are not all zero.
  const cur = await js('[window.sinkscopeView.state.layer, window.sinkscopeView.state.head]');
  let l = 0, h = 0, spread = -1;
  for (let a = 0; a < L; a++) for (let b = 0; b < H; b++) {
    if (a === cur[0] && b === cur[1]) continue;
    const n = ref.attention[a][b].reduce((acc, row) => acc + row.filter((v) => v >= 0.02).length, 0);
    if (n > spread) { spread = n; l = a; h = b; }
  }
  let [x, y] = await centre(`[data-head="L${l}H${h}"]`);
  await mouse('mouseMoved', x, y);
  const tip = await js('({shown: getComputedStyle(document.getElementById("tip")).display, ' +
    'head: document.getElementById("tip").dataset.head, score: +document.getElementById("tip").dataset.score})');
  check(tip.shown === 'block' && tip.head === `L${l}H${h}`, `hover L${l}H${h}: its tooltip shows`);
  check(Math.abs(tip.score - bosScore(l, h)) < 1e-4,
    `tooltip bos_sink_score ${tip.score.toFixed(5)} = mean_t α[t][0] from forward ${bosScore(l, h).toFixed(5)}`);
  await mouse('mousePressed', x, y);
  await mouse('mouseReleased', x, y);
  await settle();
  const opened = await js('({head: document.getElementById("pattern").dataset.head, w: document.getElementById("pattern").width, ' +
    'title: document.getElementById("head-title").textContent, ' +
    'sel: document.querySelector(".th.sel") && document.querySelector(".th.sel").dataset.head})');
  check(opened.head === `L${l}H${h}` && opened.w === T, `click: L${l}H${h}'s ${T}×${T} pattern shown`);
  check(opened.title.startsWith(`Layer ${l} · Head ${h}`), `click: title "${opened.title}"`);
  check(opened.sel === `L${l}H${h}`, 'click: the grid marks the selected head');

  // Hover cells of the pattern: the readout against forward.
  const box = await js('(() => { const e = document.getElementById("pattern"); e.scrollIntoView({block: "center"}); ' +
    'const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()');
  const step = 1 / 255;
  let worst = 0, cellsChecked = 0;
  const argmax = (row) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
  const cellsToCheck = [[T - 1, 0], [5, 3]];
  for (const t of [T - 1, Math.floor(T / 2), Math.floor(T / 3), 7]) {
    const row = ref.attention[l][h][t].slice(0, t + 1);
    cellsToCheck.push([t, argmax(row)]);
    const second = row.map((v, i) => [v, i]).sort((x, y) => y[0] - x[0])[1];
    if (second) cellsToCheck.push([t, second[1]]);
  }
  let nonzero = 0;
  for (const [t, k] of cellsToCheck) {
    await mouse('mouseMoved', box[0] + (k + 0.5) * box[2] / T, box[1] + (t + 0.5) * box[3] / T);
    const ro = await js('({q: +document.getElementById("readout").dataset.q, k: +document.getElementById("readout").dataset.k, ' +
      'v: document.getElementById("readout").dataset.value, text: document.getElementById("readout").textContent})');
    const want = ref.attention[l][h][t][k];
    const err = Math.abs(+ro.v - want);
    worst = Math.max(worst, err);
    cellsChecked++;
    nonzero += want >= 0.01;
    check(ro.q === t && ro.k === k && err <= step / 2 + 5e-5,
      `cell (${t}, ${k}): shows ${ro.v}, forward ${want.toFixed(6)}`);
  }
  console.log(`pattern readout: ${cellsChecked} cells, largest difference from forward ${worst.toExponential(2)}`);
  check(nonzero >= 4, `${nonzero} of the cells compared have α >= 0.01`);
  await shot('view-head.png');

  // Hover a token on the query side, then on the key side: its lines.
  // The query token whose row has the most keys drawn.
  let tq = 0;
  const drawnKeys = (t) => ref.attention[l][h][t].slice(0, t + 1).filter((a) => Math.round(a * 255) > 0).length;
  for (let t = 0; t < T; t++) if (drawnKeys(t) > drawnKeys(tq)) tq = t;
  [x, y] = await centre(`#tokens g.tok[data-side="q"][data-index="${tq}"] text`);
  await mouse('mouseMoved', x, y);
  const qLines = await js(`[...document.querySelectorAll('#lines line')].map((e) => [+e.dataset.q, +e.dataset.k, +e.dataset.value])`);
  const wantQ = ref.attention[l][h][tq].slice(0, tq + 1).filter((a) => Math.round(a * 255) > 0).length;
  check(qLines.length === wantQ && qLines.every(([q]) => q === tq),
    `hover query token ${tq}: ${qLines.length} lines out of it (forward: ${wantQ} keys with α ≥ half a step)`);
  check(qLines.every(([q, k, v]) => Math.abs(v - ref.attention[l][h][q][k]) <= step / 2 + 5e-5),
    'hover query token: every line\'s value matches forward');
  await shot('view-token-query.png');
  const tk = 1;
  [x, y] = await centre(`#tokens g.tok[data-side="k"][data-index="${tk}"] text`);
  await mouse('mouseMoved', x, y);
  const kLines = await js(`[...document.querySelectorAll('#lines line')].map((e) => [+e.dataset.q, +e.dataset.k, +e.dataset.value])`);
  const wantK = ref.attention[l][h].filter((row, t) => t >= tk && Math.round(row[tk] * 255) > 0).length;
  check(kLines.length === wantK && kLines.every(([, k]) => k === tk),
    `hover key token ${tk}: ${kLines.length} lines into it (forward: ${wantK} queries)`);
  await shot('view-token-key.png');

  // Exports.
  const svg = await js('window.sinkscopeView.exportSvg()');
  writeFileSync(join(outDir, 'export.svg'), svg);
  check(svg.startsWith('<svg') && svg.includes('<image') && (svg.match(/<line /g) || []).length === kLines.length,
    `SVG export: ${svg.length} characters, the pattern image and ${kLines.length} lines`);
  const png = await js('window.sinkscopeView.exportPng()');
  const pngBytes = Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64');
  writeFileSync(join(outDir, 'export.png'), pngBytes);
  check(png.startsWith('data:image/png;base64,') && pngBytes.length > 20000, `PNG export: ${pngBytes.length} bytes`);

  // BOS off.
  [x, y] = await centre('#bos-off');
  await mouse('mousePressed', x, y);
  await mouse('mouseReleased', x, y);
  await settle();
  const off = await js('({on: document.getElementById("bos-off").classList.contains("on"), ' +
    'w: document.getElementById("pattern").width, toks: document.querySelectorAll(\'#tokens g.tok[data-side="q"]\').length, ' +
    'first: document.querySelector(\'#tokens g.tok[data-side="q"] text\').textContent, run: +document.getElementById("pattern").dataset.run})');
  const offRun = meta.runs[off.run];
  check(off.on && !offRun.bos && off.w === T - 1 && off.toks === T - 1,
    `BOS off: ${off.toks} tokens, a ${off.w}×${off.w} pattern`);
  check(JSON.stringify(offRun.ids) === JSON.stringify(ref.ids.slice(1)), 'BOS off: the same text without BOS');
  await js('window.scrollTo(0, 0)');
  await shot('view-bos-off.png');

  // Ablation on (with BOS on again): the zeroed heads are marked.
  if (meta.ablated.length > 0) {
    for (const id of ['#bos-on', '#abl-on']) {
      [x, y] = await centre(id);
      await mouse('mousePressed', x, y);
      await mouse('mouseReleased', x, y);
      await settle();
    }
    const abl = await js('[...document.querySelectorAll(".th.abl")].map((e) => e.dataset.head)');
    const want = meta.ablated.map(([a, b]) => `L${a}H${b}`);
    check(JSON.stringify(abl.sort()) === JSON.stringify(want.sort()), `ablation on: ${abl.join(' ')} marked as zeroed`);
    const run = meta.runs[+(await js('document.getElementById("pattern").dataset.run'))];
    check(run.ablated && run.bos, 'ablation on: the ablated BOS-on run is shown');
    await js('window.scrollTo(0, 0)');
    await shot('view-ablated.png');
  }

  // A link from the analysis report: view.html#L<l>H<h> opens that head.
  const hl = L > 1 ? 1 : 0, hh = H > 2 ? 2 : 0;
  await cmd('Page.navigate', { url: 'about:blank' });
  await open(url + `#L${hl}H${hh}`);
  const linked = await js('document.getElementById("pattern").dataset.head');
  check(linked === `L${hl}H${hh}`, `#L${hl}H${hh} opens that head`);
}

main().then(() => {
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
}, (e) => {
  console.log('FAIL', e.stack || e);
  failures++;
}).finally(async () => {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill();
  await Promise.race([exited, sleep(5000)]);
  try { rmSync(profile, { recursive: true, force: true }); } catch { /* a straggling writer */ }
  process.exit(failures ? 1 : 0);
});
