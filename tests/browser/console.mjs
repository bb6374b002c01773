// Drives the operator console in Debian's Chromium through playwright-core (no bundled
// browser) and runs axe-core (WCAG 2.0/2.1 A and AA rules) on every page it reaches.
// Started by tests/it/console_browser.rs, which prepares the store and the server.
//
// Input (environment): CONSOLE_BASE (http://127.0.0.1:PORT), CONSOLE_TOKEN, CHROMIUM (path),
// SHOTS (screenshot folder), SCENARIO (JSON: {rejected, dead, documents: [{id, labels: [...]}],
// named: {base, user, password}}).
// Output: one JSON line on stdout, {pages: [{name, url, violations: [...], screenshot}],
// failures: [...]}; exit 0 when every step passed and no page has an axe violation.
// Bounded: every wait has a timeout; the whole run ends after 120 s.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.env.CONSOLE_BASE;
const token = process.env.CONSOLE_TOKEN;
const shots = process.env.SHOTS;
const scenario = JSON.parse(process.env.SCENARIO);
const pages = [];
const failures = [];

setTimeout(() => {
  console.log(JSON.stringify({ pages, failures: [...failures, "timeout: 120 s"] }));
  process.exit(2);
}, 120_000).unref();

function check(ok, what) {
  if (!ok) failures.push(what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  // localhost is the server's loopback address (it listens on 127.0.0.1 only).
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--host-resolver-rules=MAP localhost 127.0.0.1"],
});
// axe is injected by the test (the console's CSP allows no scripts at all, as it should).
const context = await browser.newContext({ bypassCSP: true, locale: "de-DE" });
context.setDefaultTimeout(15_000);
const page = await context.newPage();
// The last requests, for the failure message.
const trail = [];
page.on("response", (r) => {
  trail.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  if (trail.length > 6) trail.shift();
});

async function audit(name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    }),
  );
  const screenshot = join(shots, `${name}.png`);
  await page.screenshot({ path: screenshot, fullPage: true });
  pages.push({
    name,
    url: new URL(page.url()).pathname,
    violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.length,
      help: v.help,
    })),
    screenshot,
  });
}

try {
  // Login with the keyboard: focus the field, type, Enter.
  await page.goto(`${base}/console/`);
  check(new URL(page.url()).pathname === "/console/login", "without a session: the login page");
  await audit("login");
  await page.getByLabel(/Token/i).focus();
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  await page.waitForURL(`${base}/console/`);
  check((await page.locator("h1").innerText()) === "Übersicht", "overview after login");
  // Visible focus: the first link the Tab key reaches has an outline.
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return `${s.outlineStyle} ${s.outlineWidth}`;
  });
  check(!outline.startsWith("none") && outline !== "", `visible focus: ${outline}`);
  await audit("overview");

  // The list, filtered to the rejected submissions with the form.
  await page.goto(`${base}/console/submissions`);
  await audit("list");
  await page.getByLabel("Entscheidung").selectOption("rejected");
  await page.getByRole("button", { name: "Filtern" }).click();
  await page.waitForURL(/decision=rejected/);
  const listed = await page.locator("tbody a code").allInnerTexts();
  check(listed.length === 1 && listed[0] === scenario.rejected, `filtered list: ${listed}`);
  await audit("list-rejected");

  // The rejected submission: its problems.
  await page.getByRole("link", { name: scenario.rejected }).click();
  await page.waitForURL(new RegExp(`/console/submissions/${scenario.rejected}$`));
  const decision = await page.locator("main").innerText();
  check(decision.includes("Abgelehnt"), "the rejected page says so");
  check(decision.includes(scenario.problem), `the problem type ${scenario.problem} is shown`);
  await audit("rejected");

  // The dead letter: re-driven with its button.
  await page.goto(`${base}/console/submissions/${scenario.dead}`);
  await audit("dead-letter");
  await page.getByRole("button", { name: /erneut zustellen/ }).click();
  await page.waitForURL(/\?redriven$/);
  check(
    (await page.locator("[role=status]").innerText()).length > 0,
    "the re-drive is confirmed on the page",
  );
  await audit("redriven");
  // The outbox worker delivers it to the upstream, which is back: reloading the page (at most
  // 15 s) shows the job delivered and no re-drive button any more.
  const jobState = page.locator("table tbody tr td:nth-of-type(2)");
  let delivered = false;
  for (let i = 0; i < 30 && !delivered; i++) {
    await page.waitForTimeout(500);
    await page.goto(`${base}/console/submissions/${scenario.dead}`);
    delivered = (await jobState.allInnerTexts()).includes("zugestellt");
  }
  check(delivered, "the re-driven job is shown delivered");
  check(
    (await page.getByRole("button", { name: /erneut zustellen/ }).count()) === 0,
    "no re-drive button once delivered",
  );
  await audit("redriven-delivered");

  // The case-worker documents: labels from the XSD documentation.
  for (const doc of scenario.documents) {
    await page.goto(`${base}/console/submissions/${doc.id}`);
    await page.getByRole("link", { name: /Antrag als Dokument lesen/ }).click();
    await page.waitForURL(new RegExp(`/${doc.id}/document.html$`));
    const text = await page.locator("body").innerText();
    for (const label of doc.labels) {
      check(text.includes(label), `${doc.id}: label ${JSON.stringify(label)}`);
    }
    await audit(`document-${doc.name}`);
  }

  // The console with a users file: user name and password, typed; the overview follows.
  // (Cookies do not tell ports apart: without clearing, the other console's session cookie
  // would come along and the form would say the session had ended.)
  await context.clearCookies();
  await page.goto(`${scenario.named.base}/console/`);
  check(new URL(page.url()).pathname === "/console/login", "named: the login page");
  check(!(await page.locator("main").innerText()).includes("abgelaufen"), "named: a fresh login");
  await audit("login-named");
  await page.getByLabel("Benutzername").focus();
  await page.keyboard.type(scenario.named.user);
  await page.keyboard.press("Tab");
  await page.keyboard.type(scenario.named.password);
  await page.keyboard.press("Enter");
  await page.waitForURL(`${scenario.named.base}/console/`);
  check((await page.locator("h1").innerText()) === "Übersicht", "named: overview after login");
  await audit("overview-named");
} catch (e) {
  let where = ` (at ${page.url()})`;
  try {
    where = ` (at ${new URL(page.url()).pathname}${new URL(page.url()).search}: ${await page.locator("h1").first().innerText({ timeout: 2000 })})`;
  } catch {
    // the page itself is gone
  }
  const cookies = (await context.cookies()).map((c) => c.name).join(",");
  failures.push(
    `step failed: ${e.message.split("\n")[0]}${where}; last requests: ${trail.join(" | ")}; cookies: ${cookies}`,
  );
} finally {
  await browser.close();
}

for (const p of pages) {
  if (p.violations.length > 0) failures.push(`${p.name}: ${p.violations.length} axe violation(s)`);
}
console.log(JSON.stringify({ pages, failures }));
process.exit(failures.length === 0 ? 0 : 1);
