// Drives every page of plan.json in headless Chromium and checks what a
// person would see: the page answers, nothing fails in its console, no
// request leaves 127.0.0.1, charts hold the stored points, links lead to
// pages that answer, the docs page's examples run. Writes a screenshot per
// page. Usage: node run.mjs plan.json (browser_test.go writes the plan).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const failures = [];
const fail = (page, msg) => failures.push(`${page}: ${msg}`);
const report = { pages: {} };

const browser = await chromium.launch({
  executablePath: plan.chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });

// Every request is checked before it goes: only 127.0.0.1 is allowed, the
// rest is refused here and reported.
const outside = [];
await context.route("**/*", (route) => {
  const u = new URL(route.request().url());
  if (u.protocol === "data:" || u.hostname === "127.0.0.1") return route.continue();
  outside.push(u.href);
  return route.abort();
});

const pointsOf = (attr) => (attr || "").trim().split(/\s+/).filter(Boolean).length;

async function visit(spec) {
  const page = await context.newPage();
  const errors = [];
  let expected4xx = 0; // loads the page makes that answer 4xx on purpose (documented refusals)
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push("page error: " + e.message));
  page.on("requestfailed", (r) => errors.push("request failed: " + r.url() + " " + (r.failure() || {}).errorText));
  const t0 = Date.now();
  const res = await page.goto(spec.url, { waitUntil: "load" });
  const took = Date.now() - t0;
  const info = { url: spec.url, status: res.status(), ms: took };
  if (res.status() !== (spec.status || 200)) fail(spec.name, `status ${res.status()}`);
  const csp = res.headers()["content-security-policy"] || "";
  if (!csp.includes("default-src 'none'")) fail(spec.name, "no Content-Security-Policy");
  if (spec.h1) {
    const h1 = (await page.textContent("h1")) || "";
    if (!h1.includes(spec.h1)) fail(spec.name, `heading "${h1.trim()}", want "${spec.h1}"`);
  }
  // Charts hold the stored points.
  for (const [sel, want] of Object.entries(spec.points || {})) {
    const got = await page.$$eval(sel, (els) => els.map((e) => e.getAttribute("points")));
    if (got.length !== 1) { fail(spec.name, `${sel}: ${got.length} elements`); continue; }
    const n = pointsOf(got[0]);
    if (n !== want) fail(spec.name, `${sel}: ${n} points, stored ${want}`);
    info[sel] = n;
  }
  for (const [sel, want] of Object.entries(spec.counts || {})) {
    const n = await page.$$eval(sel, (els) => els.length);
    if (n !== want) fail(spec.name, `${sel}: ${n} elements, want ${want}`);
    info[sel] = n;
  }
  for (const text of spec.texts || []) {
    const body = await page.textContent("body");
    if (!body.includes(text)) fail(spec.name, `no text "${text}"`);
  }
  if (spec.runExamples) expected4xx = await runExamples(page, spec);
  if (spec.sortBy) await checkSort(page, spec);
  // Every link on the page leads somewhere that answers.
  const hrefs = await page.$$eval("a[href]", (as) => as.map((a) => a.href));
  info.links = 0;
  const tLinks = Date.now();
  for (const h of new Set(hrefs)) {
    const u = new URL(h);
    u.hash = "";
    if (u.hostname !== "127.0.0.1") { fail(spec.name, `link leaves 127.0.0.1: ${h}`); continue; }
    if (checked.has(u.href)) continue;
    checked.add(u.href);
    const r = await context.request.get(u.href);
    info.links++;
    if (r.status() !== 200) fail(spec.name, `link ${u.href}: ${r.status()}`);
  }
  info.linksMs = Date.now() - tLinks;
  if (spec.shot) {
    const tShot = Date.now();
    mkdirSync(plan.shots, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    const opts = { path: `${plan.shots}/${spec.shot}.png`, fullPage: true };
    if (spec.maxHeight) {
      const h = await page.evaluate(() => document.documentElement.scrollHeight);
      if (h > spec.maxHeight) opts.clip = { x: 0, y: 0, width: 1400, height: spec.maxHeight };
    }
    await page.screenshot(opts);
    info.shotMs = Date.now() - tShot;
  }
  const unexpected = errors.filter((e) => !(expected4xx > 0 && /status of 4\d\d/.test(e)));
  const tolerated = errors.length - unexpected.length;
  if (tolerated > expected4xx) fail(spec.name, `${tolerated} failed loads, ${expected4xx} expected`);
  for (const e of unexpected) fail(spec.name, "console: " + e);
  report.pages[spec.name] = info;
  await page.close();
}
const checked = new Set();

// The docs page's examples: Run each, the live answer has the documented
// status. Returns how many are documented refusals (4xx): Chromium logs
// each as a failed load.
async function runExamples(page, spec) {
  const examples = await page.$$("article.example[data-runnable=true]");
  let refusals = 0;
  if (examples.length === 0) fail(spec.name, "no runnable example");
  for (const ex of examples) {
    const name = await ex.getAttribute("data-name");
    const want = await ex.getAttribute("data-expect");
    const btn = await ex.$("button.run");
    if (!btn || !(await btn.isVisible())) { fail(spec.name, `${name}: no Run button`); continue; }
    await btn.click();
    await page.waitForFunction((el) => el.dataset.liveStatus !== undefined, ex);
    const got = await ex.getAttribute("data-live-status");
    if (got !== want) fail(spec.name, `example ${name}: live status ${got}, documented ${want}`);
    if (want.startsWith("4")) refusals++;
  }
  report.pages[spec.name + " examples"] = examples.length;
  return refusals;
}

// Clicking a column header sorts the versions in place (the script) like the link would.
async function checkSort(page, spec) {
  await page.click(`th a[data-key="${spec.sortBy}"]`);
  const col = await page.$$eval("#models-table thead th", (ths, key) => ths.findIndex((th) => th.querySelector(`a[data-key="${key}"]`)), spec.sortBy);
  const vals = await page.$$eval(`#models-table tbody tr td:nth-child(${col + 1})`, (tds) => tds.map((td) => parseFloat(td.textContent)));
  const sorted = [...vals].sort((a, b) => b - a);
  if (JSON.stringify(vals) !== JSON.stringify(sorted)) fail(spec.name, `sorting by ${spec.sortBy}: ${vals}`);
  if (!page.url().includes(`sort=${spec.sortBy}`)) fail(spec.name, `the URL does not say the sort: ${page.url()}`);
}

// Navigation by clicking: overview -> runs -> a run -> a model.
async function clickThrough() {
  const page = await context.newPage();
  await page.goto(plan.start);
  for (const step of plan.clicks) {
    await Promise.all([page.waitForEvent("framenavigated"), page.click(step.selector)]);
    await page.waitForLoadState("load");
    const h1 = (await page.textContent("h1")) || "";
    if (!h1.includes(step.h1)) fail("click " + step.selector, `landed on "${h1.trim()}", want "${step.h1}"`);
  }
  await page.close();
}

try {
  for (const spec of plan.pages) await visit(spec);
  if (plan.clicks) await clickThrough();
} catch (e) {
  failures.push("harness: " + (e.stack || e));
} finally {
  await browser.close();
}
for (const u of outside) failures.push("request outside 127.0.0.1: " + u);
report.failures = failures;
writeFileSync(plan.report, JSON.stringify(report, null, 2));
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`${Object.keys(report.pages).length} pages checked in Chromium, no failure`);
