// Opens report.html in headless Chromium (Debian's, driven by playwright-core)
// and checks what a reader sees: every chart drawn as a non-empty SVG with its
// expected series, no console error, no network request; then the page once
// more with JavaScript off (it must still show its tables). Writes a
// screenshot. Usage: node check-report.cjs REPORT_HTML SCREENSHOT_PNG
// Prints one JSON line with the findings; exits 1 when a check fails.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [html, shot] = process.argv.slice(2);
const exe = process.env.MSGPERF_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'msgperf-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: exe, headless: true, args: ARGS, viewport: { width: 1280, height: 900 },
  });
  const url = 'file://' + path.resolve(html);
  const problems = [];
  const requests = [];
  const consoleErrors = [];
  try {
    const page = await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('request', (r) => { if (r.url() !== url && !r.url().startsWith('data:')) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.$$eval('figure.chart', (figs) => figs.map((f) => {
      const svg = f.querySelector('svg');
      if (!svg) return { stem: f.dataset.stem, svg: false };
      const box = svg.getBoundingClientRect();
      const painted = [...svg.querySelectorAll('polyline,path,circle,rect,line,polygon')].filter((e) => {
        const s = getComputedStyle(e);
        const visible = (v) => v && v !== 'none' && v !== 'rgb(255, 255, 255)';
        const b = e.getBBox();
        return (visible(s.stroke) || visible(s.fill)) && (b.width > 0 || b.height > 0);
      }).length;
      const text = svg.textContent;
      const series = (f.dataset.series || '').split('|').filter(Boolean);
      return { stem: f.dataset.stem, svg: true, width: box.width, height: box.height, painted,
        series, missing: series.filter((w) => !text.includes(w)) };
    }));
    if (charts.length === 0) problems.push('no chart on the page');
    for (const c of charts) {
      if (!c.svg) { problems.push(`${c.stem}: no <svg>`); continue; }
      if (c.width < 100 || c.height < 100) problems.push(`${c.stem}: SVG is ${c.width}x${c.height}`);
      if (c.painted < 10) problems.push(`${c.stem}: only ${c.painted} painted shapes`);
      if (c.series.length === 0) problems.push(`${c.stem}: no expected series`);
      if (c.missing.length) problems.push(`${c.stem}: series missing: ${c.missing.join(', ')}`);
    }
    const tables = await page.$$eval('#tables table', (t) => t.length);
    if (tables === 0) problems.push('no table from report.md');
    await page.screenshot({ path: shot, fullPage: true });

    const noJs = await chromium.launch({ executablePath: exe, headless: true, args: ARGS });
    const p2 = await (await noJs.newContext({ javaScriptEnabled: false })).newPage();
    await p2.goto(url, { waitUntil: 'load' });
    const noJsView = await p2.evaluate(() => ({
      headline: (document.getElementById('headline') || {}).innerText || '',
      tables: document.querySelectorAll('#tables table').length,
      charts: document.querySelectorAll('figure.chart svg').length,
    }));
    await noJs.close();
    if (!noJsView.headline || noJsView.tables === 0 || noJsView.charts !== charts.length) {
      problems.push(`without JavaScript: ${JSON.stringify(noJsView)}`);
    }
    if (consoleErrors.length) problems.push(`console errors: ${consoleErrors.join(' | ')}`);
    if (requests.length) problems.push(`network requests: ${requests.join(' ')}`);
    console.log(JSON.stringify({ charts, tables, noJsView, consoleErrors, requests, problems }));
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.exit(problems.length ? 1 : 0);
}

main().catch((e) => { console.error(e && e.stack || e); process.exit(2); });
