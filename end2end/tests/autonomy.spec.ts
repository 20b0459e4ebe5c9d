import { expect, test } from "@playwright/test";
import { aol, cliFlags, dbStatus, ledgerRows, openAutonomy, openSignedIn, OPERATOR_TOKEN } from "./support";

// One server per database for the whole file: the tests run in order and
// leave the flags as they found them.
test.describe.configure({ mode: "serial" });

test("the page is rendered on the server, with no JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByTestId("sign-in-needed")).toBeVisible();
  await expect(page.getByTestId("daemon-state")).toHaveCount(0);
  // Signed in (the session cookie is the context's), the page shows the state.
  expect((await context.request.post("/ui/login", { form: { secret: OPERATOR_TOKEN } })).status()).toBe(200);
  await page.goto("/");
  await expect(page.getByTestId("daemon-state")).toHaveText("running");
  await expect(page.getByTestId("mode")).toHaveText("PROOF");
  await expect(page.getByTestId("flag-paused")).toHaveText("no");
  // The e2e server has no OPENAI_API_KEY: AOL works without one and says so.
  await expect(page.getByTestId("llm")).toHaveText("not configured (not needed)");
  await context.close();
});

test("signed out there is no data and no controls, and a wrong token is refused", async ({ page }) => {
  await openAutonomy(page);
  await expect(page.getByTestId("token-form")).toBeVisible();
  await expect(page.getByTestId("sign-in-needed")).toBeVisible();
  await expect(page.getByTestId("pause-toggle")).toHaveCount(0);
  await expect(page.getByTestId("actions")).toHaveCount(0);
  await page.getByTestId("token-input").fill("not-the-operator-token");
  await page.getByTestId("token-submit").click();
  await expect(page.getByTestId("token-form")).toContainText("not the operator token");
  await expect(page.getByTestId("pause-toggle")).toHaveCount(0);
});

test("server functions refuse a change without the token (401) or from another site (403)", async ({ request }, testInfo) => {
  const noToken = await request.post("/ui/flag", { form: { command: "pause", confirm: "false" } });
  expect(noToken.status()).toBe(401);
  expect(dbStatus(testInfo).flags.paused).toBe(false);

  const login = await request.post("/ui/login", { form: { secret: OPERATOR_TOKEN } });
  expect(login.status()).toBe(200);
  const crossSite = await request.post("/ui/flag", {
    form: { command: "pause", confirm: "false" },
    headers: { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" },
  });
  expect(crossSite.status()).toBe(403);
  expect(dbStatus(testInfo).flags.paused).toBe(false);
});

test("the ledger count grows by itself, without a reload", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const first = await ledgerRows(page);
  await expect.poll(() => ledgerRows(page), { timeout: 4_000 }).toBeGreaterThan(first);
  await expect(page.getByTestId("last-tick")).toContainText("SUCCESS");
  await expect(page.getByTestId("activity-chart").locator("rect.bar-attempted")).toHaveCount(60);
  await expect.poll(async () => Number(await page.getByTestId("activity-ticks").textContent()), { timeout: 8_000 }).toBeGreaterThan(0);
  await testInfo.attach("autonomy page", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });
});

test("the page refreshes around the operator: a field being typed in stays the same element, focused", async ({ page }) => {
  await openSignedIn(page);
  for (const id of ["enqueue-key", "reason", "filter-key"]) {
    const field = page.getByTestId(id);
    await field.click();
    const element = await field.elementHandle();
    await page.keyboard.type("abc", { delay: 30 });
    // The daemon ticks every 0.3 s: wait for two refreshes of the page.
    const before = await ledgerRows(page);
    await expect.poll(() => ledgerRows(page), { timeout: 4_000 }).toBeGreaterThan(before + 1);
    await page.keyboard.type("def", { delay: 30 });
    expect(await element!.evaluate((el) => el.isConnected && document.activeElement === el), id).toBe(true);
    await expect(field).toHaveValue("abcdef");
    await field.fill("");
  }
});

test("Pause sets the flag in the database, Resume clears it", async ({ page }, testInfo) => {
  await openSignedIn(page);
  await page.getByTestId("pause-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("paused");
  await expect(page.getByTestId("flag-paused")).toHaveText("yes");
  await expect(page.getByTestId("pause-toggle")).toHaveText("Resume");
  expect(dbStatus(testInfo).flags.paused).toBe(true);
  // The daemon now writes SKIPPED rows.
  await expect(page.getByTestId("last-tick")).toContainText("SKIPPED");
  await testInfo.attach("paused", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

  await page.getByTestId("pause-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("running");
  await expect(page.getByTestId("pause-toggle")).toHaveText("Pause");
  expect(dbStatus(testInfo).flags.paused).toBe(false);
  await expect(page.getByTestId("last-tick")).toContainText("SUCCESS");
});

test("Kill stops the ticks, Revive starts them again", async ({ page }, testInfo) => {
  await openSignedIn(page);
  await page.getByTestId("kill-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("killed");
  await expect(page.getByTestId("kill-toggle")).toHaveText("Revive");
  expect(dbStatus(testInfo).flags.killed).toBe(true);

  // Ticks run every 0.3 s; over 1.5 s of kill the ledger must not move.
  const atKill = dbStatus(testInfo).ledger_rows;
  await page.waitForTimeout(1_500);
  expect(dbStatus(testInfo).ledger_rows).toBe(atKill);
  await expect(page.getByTestId("ledger-rows")).toHaveText(String(atKill));

  await page.getByTestId("kill-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("running");
  expect(dbStatus(testInfo).flags.killed).toBe(false);
  await expect.poll(() => dbStatus(testInfo).ledger_rows, { timeout: 4_000 }).toBeGreaterThan(atKill);
  await expect.poll(() => ledgerRows(page), { timeout: 4_000 }).toBeGreaterThan(atKill);
});

test("a change made from the command line shows without a reload", async ({ page }, testInfo) => {
  await openSignedIn(page);
  await expect(page.getByTestId("daemon-state")).toHaveText("running");
  cliFlags(testInfo, "pause");
  await expect(page.getByTestId("daemon-state")).toHaveText("paused", { timeout: 2_500 });
  cliFlags(testInfo, "resume");
  await expect(page.getByTestId("daemon-state")).toHaveText("running", { timeout: 2_500 });
});

test("an action enqueued from the command line runs in PROOF and shows without a reload", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const key = `e2e-${testInfo.project.name}-${Date.now()}`;
  aol(testInfo, "enqueue", "--type", "POST_SOCIAL", "--key", key, "--payload", JSON.stringify({ text: "Hello from Playwright" }));
  const row = page.getByTestId("actions").locator("tr", { hasText: key });
  await expect(row).toContainText("SUCCESS", { timeout: 5_000 });
  await expect(page.getByTestId("queue-counts")).toContainText("SUCCESS");
  const stored = JSON.parse(aol(testInfo, "actions", "--status", "SUCCESS", "--json"));
  expect(stored.some((a: any) => a.idempotency_key === key && a.attempts === 1)).toBe(true);
  await testInfo.attach("action done", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });
});

test("switching to REAL asks first; the change and its reason are recorded", async ({ page }, testInfo) => {
  await openSignedIn(page);
  await page.getByTestId("mode-toggle").click();
  await expect(page.getByTestId("confirm-real")).toBeVisible();
  await page.getByTestId("confirm-real-no").click();
  await expect(page.getByTestId("confirm-real")).toHaveCount(0);
  expect(dbStatus(testInfo).flags.proof_mode).toBe(true);

  await page.getByTestId("reason").fill("launch day");
  await page.getByTestId("mode-toggle").click();
  await page.getByTestId("confirm-real-yes").click();
  await expect(page.getByTestId("mode")).toHaveText("REAL");
  expect(dbStatus(testInfo).flags.proof_mode).toBe(false);
  const latest = page.getByTestId("flag-changes").locator("tbody tr").first();
  await expect(latest).toContainText("mode: PROOF → REAL");
  await expect(latest).toContainText("launch day");
  await testInfo.attach("REAL mode", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

  await page.getByTestId("mode-toggle").click();
  await expect(page.getByTestId("mode")).toHaveText("PROOF");
  expect(dbStatus(testInfo).flags.proof_mode).toBe(true);
});

test("a REAL switch without confirmation is refused by the server", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const status = await page.evaluate(async () => {
    const r = await fetch("/ui/flag", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "command=real&confirm=false",
    });
    return r.status;
  });
  expect(status).toBe(400);
  expect(dbStatus(testInfo).flags.proof_mode).toBe(true);
});
