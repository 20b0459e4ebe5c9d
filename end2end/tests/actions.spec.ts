import { createHash } from "node:crypto";
import { expect, Page, test, TestInfo } from "@playwright/test";
import { aol, cliFlags, openSignedIn } from "./support";

test.describe.configure({ mode: "serial" });

function uniqueKey(testInfo: TestInfo, what: string): string {
  return `${what}-${testInfo.project.name}-${Date.now()}`;
}

async function enqueueByHand(page: Page, key: string, text: string): Promise<void> {
  await page.getByTestId("enqueue-key").fill(key);
  await page.getByTestId("enqueue-text").fill(text);
  await page.getByTestId("enqueue-submit").click();
  await expect(page.getByTestId("enqueue-result")).toContainText("Enqueued");
}

async function openAction(page: Page, key: string): Promise<void> {
  await page.getByTestId("actions").locator("tr", { hasText: key }).getByTestId("action-link").click();
  await expect(page.getByTestId("action-status")).toBeVisible();
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
}

test("enqueue by hand → PROOF artifact stored with the SUCCESS, shown verified, exported by the CLI", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const key = uniqueKey(testInfo, "by-hand");
  await enqueueByHand(page, key, "Hello from the enqueue form");
  await openAction(page, key);
  await expect(page.getByTestId("action-status")).toHaveText("SUCCESS", { timeout: 5_000 });
  await expect(page.getByTestId("artifact-state")).toHaveText("verified");
  await expect(page.getByTestId("artifact-preview")).toContainText("Hello from the enqueue form");
  await expect(page.getByTestId("logs")).toContainText("attempt 1 (PROOF): made what would be posted");
  await testInfo.attach("action page", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

  // In the content store, named by its SHA-256; `aol artifact ID` gives the very bytes.
  const reference = (await page.getByTestId("artifact-path").textContent()) ?? "";
  expect(reference).toMatch(/^sha256:[0-9a-f]{64}$/);
  const id = new URL(page.url()).pathname.split("/").pop() as string;
  const exported = aol(testInfo, "artifact", id);
  expect(exported).toContain("Hello from the enqueue form");
  expect("sha256:" + createHash("sha256").update(exported).digest("hex")).toBe(reference);
});

test("markup in an action's text shows as text, never as markup (the server draws these parts)", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const key = uniqueKey(testInfo, "markup");
  const text = `<img src=x onerror="document.body.dataset.injected='yes'"><b>bold</b> & more`;
  await enqueueByHand(page, key, text);
  await openAction(page, key);
  await expect(page.getByTestId("action-status")).toHaveText("SUCCESS", { timeout: 5_000 });
  await expect(page.getByTestId("payload")).toContainText(text.replaceAll('"', '\\"'));
  await expect(page.getByTestId("artifact-preview")).toContainText("<b>bold</b> & more");
  await expect(page.locator("main img, main b")).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId("payload")).toContainText("<b>bold</b> & more");
  await expect(page.locator("main img, main b")).toHaveCount(0);
  await expect(page.locator("body[data-injected]")).toHaveCount(0);
});

test("a bad enqueue is refused with the reason, and a known key is a duplicate", async ({ page }, testInfo) => {
  await openSignedIn(page);
  await page.getByTestId("enqueue-key").fill(uniqueKey(testInfo, "empty"));
  await page.getByTestId("enqueue-text").fill("   ");
  await page.getByTestId("enqueue-submit").click();
  await expect(page.getByTestId("enqueue-result")).toContainText("\"text\" is empty");

  const key = uniqueKey(testInfo, "twice");
  await enqueueByHand(page, key, "once");
  await page.getByTestId("enqueue-submit").click();
  await expect(page.getByTestId("enqueue-result")).toContainText("Duplicate key: nothing added");
});

test("FAILED → re-queue runs the action again", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const key = uniqueKey(testInfo, "failed");
  // In REAL mode a post that names no channel fails for good.
  cliFlags(testInfo, "real");
  try {
    await enqueueByHand(page, key, "fails at first");
    await openAction(page, key);
    await expect(page.getByTestId("action-status")).toHaveText("FAILED", { timeout: 5_000 });
    await expect(page.getByTestId("last-error")).toContainText("real run unconfigured");
  } finally {
    cliFlags(testInfo, "proof");
  }
  await page.waitForTimeout(1_000);
  await page.getByTestId("requeue").click();
  await expect(page.getByTestId("action-status")).toHaveText("SUCCESS", { timeout: 5_000 });
  await expect(page.getByTestId("logs")).toContainText("re-queued by operator-token");
  await expect(page.getByTestId("artifact-state")).toHaveText("verified");
});

test("cancel stops a pending action from ever running", async ({ page }, testInfo) => {
  await openSignedIn(page);
  await page.getByTestId("pause-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("paused");
  const key = uniqueKey(testInfo, "cancel");
  await enqueueByHand(page, key, "never to be posted");
  await openAction(page, key);
  await expect(page.getByTestId("action-status")).toHaveText("PENDING");
  await page.getByTestId("cancel").click();
  await expect(page.getByTestId("action-status")).toHaveText("CANCELLED");
  await expect(page.getByTestId("cancel")).toHaveCount(0);

  await page.getByTestId("back").click();
  await page.getByTestId("pause-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("running");
  await page.waitForTimeout(1_000);
  const stored = JSON.parse(aol(testInfo, "actions", "--json")).find((a: any) => a.idempotency_key === key);
  expect(stored.status).toBe("CANCELLED");
  expect(() => aol(testInfo, "artifact", String(stored.id))).toThrow(/no PROOF artifact/);
});

test("changes to actions and channels without the token are refused (401)", async ({ request }) => {
  for (const change of ["requeue", "cancel", "posted", "send_again"]) {
    const answer = await request.post("/ui/action_change", { form: { id: "1", change } });
    expect(answer.status()).toBe(401);
  }
  for (const change of ["arm", "remove"]) {
    const answer = await request.post("/ui/channel_change", { form: { name: "any", change } });
    expect(answer.status()).toBe(401);
  }
  const enqueue = await request.post("/ui/enqueue", { form: { key: "x", text: "y" } });
  expect(enqueue.status()).toBe(401);
});

test("the queue filters by status and exact key, and pages back", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const key = uniqueKey(testInfo, "findme");
  await enqueueByHand(page, key, "find me");
  await page.getByTestId("filter-key").fill(key);
  await page.getByTestId("filter-key").press("Enter");
  await expect(page.getByTestId("actions").locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId("actions")).toContainText(key);

  await page.getByTestId("filter-key").fill("");
  await page.getByTestId("filter-key").press("Enter");
  await page.getByTestId("filter-status").selectOption("CANCELLED");
  const rows = page.getByTestId("actions").locator("tbody tr");
  await expect(rows.first()).toContainText("CANCELLED");
  for (const text of await rows.allTextContents()) expect(text).toContain("CANCELLED");

  await page.getByTestId("filter-status").selectOption("EXPIRED");
  await expect(page.getByTestId("no-actions")).toBeVisible();
  await page.getByTestId("filter-status").selectOption("");
  await expect(page.getByTestId("page-newest")).toBeDisabled();
});
