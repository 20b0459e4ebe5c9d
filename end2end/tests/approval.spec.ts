import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { expect, test } from "@playwright/test";
import { addPerson, aol, cliFlags, openAs, openSignedIn, writeSecret } from "./support";

test.describe.configure({ mode: "serial" });

/** A webhook that answers 200 and keeps every body it got. */
async function webhook(): Promise<{ url: string; bodies: string[]; close: () => void }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      bodies.push(body);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: `hook-${bodies.length}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as any).port;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => server.close() };
}

function action(testInfo: any, key: string): any {
  return JSON.parse(aol(testInfo, "actions", "--limit", "200", "--json")).find((a: any) => a.idempotency_key === key);
}

test("approval inbox: approve → posted once; reject → never sent; an edit after approval needs approval again", async ({ page }, testInfo) => {
  const hook = await webhook();
  const secret = writeSecret(testInfo, "ask-hook-key", "e2e-approval-signing-key");
  const run = `${testInfo.project.name.replace("chromium-", "")}-${Date.now() % 100000}`;
  const name = `ask-${run}`;
  aol(testInfo, "channel", "add", name, "--kind", "webhook", "--url", hook.url, "--secret-file", secret);
  aol(testInfo, "channel", "arm", name);
  const keys = { yes: `${name}-yes`, no: `${name}-no`, edit: `${name}-edit` };
  try {
    cliFlags(testInfo, "real");
    for (const [what, key] of Object.entries(keys)) {
      aol(testInfo, "enqueue", "--type", "POST_SOCIAL", "--key", key, "--payload", JSON.stringify({ channel: name, text: `Post to ${what} (${run})` }));
      expect(action(testInfo, key).status).toBe("AWAITING_APPROVAL");
    }

    await openSignedIn(page);
    const item = (key: string) => page.locator(`[data-testid=inbox-item][data-key="${key}"]`);
    await expect(item(keys.yes).getByTestId("inbox-request")).toContainText(`Post to yes (${run})`);
    await expect(item(keys.yes).getByTestId("inbox-sha")).toContainText(/SHA-256 [0-9a-f]{64}/);
    expect(Number(await page.getByTestId("inbox-count").textContent())).toBeGreaterThanOrEqual(3);
    await expect(page.getByTestId("header-inbox-count")).toHaveText(await page.getByTestId("inbox-count").textContent() ?? "");
    await page.locator("#approvals").scrollIntoViewIfNeeded();
    await testInfo.attach("inbox", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

    // Approve: it goes out, once.
    await item(keys.yes).getByTestId("inbox-approve").click();
    await expect.poll(() => action(testInfo, keys.yes).status, { timeout: 10_000 }).toBe("SUCCESS");
    await expect(item(keys.yes)).toHaveCount(0);
    await page.waitForTimeout(1_500);
    expect(hook.bodies.filter((b) => b.includes(`Post to yes (${run})`))).toHaveLength(1);

    // Reject with a reason: never sent.
    await page.getByTestId("inbox-reason").fill("off brand");
    await item(keys.no).getByTestId("inbox-reject").click();
    await expect.poll(() => action(testInfo, keys.no).status).toBe("CANCELLED");
    expect(action(testInfo, keys.no).last_error).toBe("rejected by operator-token: off brand");
    await expect(item(keys.no)).toHaveCount(0);

    // Approve, then change the text before it goes (paused): it needs a yes again.
    cliFlags(testInfo, "pause");
    const id = action(testInfo, keys.edit).id;
    await page.goto(`/actions/${id}`);
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
    await expect(page.getByTestId("request-body")).toContainText(`Post to edit (${run})`);
    await expect(page.getByTestId("no-logs")).toHaveText("Nothing logged yet.");
    await page.getByTestId("approve").click();
    await expect(page.getByTestId("action-status")).toHaveText("PENDING");
    await page.getByTestId("edit-text").fill(`Edited post (${run})`);
    await page.getByTestId("edit-reason").fill("typo");
    // The form is built once: what was typed survives the refreshes.
    await page.waitForTimeout(1_000);
    await expect(page.getByTestId("edit-text")).toHaveValue(`Edited post (${run})`);
    await page.getByTestId("edit-save").click();
    await expect(page.getByTestId("action-status")).toHaveText("AWAITING_APPROVAL");
    await expect(page.getByTestId("decision").first()).toContainText("voided by an edit");
    await expect(page.getByTestId("request-body")).toContainText(`Edited post (${run})`);
    cliFlags(testInfo, "resume");
    await page.waitForTimeout(1_500);
    expect(hook.bodies.some((b) => b.includes(run) && b.includes("edit"))).toBe(false);
    await testInfo.attach("re-approval", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });
    // Four eyes: whoever changed it last may not approve it; another person may.
    await page.getByTestId("approve").click();
    await expect(page.getByRole("alert").filter({ hasText: "four eyes" })).toBeVisible();
    await expect(page.getByTestId("action-status")).toHaveText("AWAITING_APPROVAL");
    addPerson(testInfo, "eve", "approver", "a long enough password");
    await page.getByTestId("sign-out").click();
    // Signed out before the next page loads (the click's request is not
    // cut off by the navigation).
    await expect(page.getByTestId("token-form")).toBeVisible();
    await openAs(page, "eve", "a long enough password");
    await page.goto(`/actions/${id}`);
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
    await page.getByTestId("approve").click();
    await expect(page.getByTestId("action-status")).toHaveText("SUCCESS", { timeout: 10_000 });
    expect(action(testInfo, keys.edit).edited_by).toBe("operator-token");
    expect(hook.bodies.filter((b) => b.includes(`Edited post (${run})`))).toHaveLength(1);
    expect(hook.bodies.filter((b) => b.includes(`Post to edit (${run})`))).toHaveLength(0);
  } finally {
    cliFlags(testInfo, "resume");
    cliFlags(testInfo, "proof");
    hook.close();
  }
});

test("a channel's policy is changed from the dashboard, with the reason recorded", async ({ page }, testInfo) => {
  const name = `pol-${testInfo.project.name.replace("chromium-", "")}-${Date.now() % 100000}`;
  aol(testInfo, "channel", "add", name, "--kind", "webhook", "--url", "https://hooks.example/aol", "--secret-env", "AOL_SECRET_HOOK");
  await openSignedIn(page);
  await page.getByTestId("reason").fill("trusted account");
  const row = page.locator(`[data-testid=channel-row][data-channel="${name}"]`);
  await expect(row.getByTestId("channel-policy")).toHaveValue("require_approval");
  await row.getByTestId("channel-policy").selectOption("auto");
  await expect.poll(() => JSON.parse(aol(testInfo, "policy", "list", "--json")).find((p: any) => p.channel === name)?.mode).toBe("auto");
  const set = JSON.parse(aol(testInfo, "policy", "list", "--json")).find((p: any) => p.channel === name);
  expect(set).toMatchObject({ set_by: "operator-token", reason: "trusted account", action_type: "POST_SOCIAL" });
  await expect(row.getByTestId("channel-policy")).toHaveValue("auto");
  await row.getByTestId("channel-policy").selectOption("deny");
  await expect.poll(() => JSON.parse(aol(testInfo, "policy", "list", "--json")).find((p: any) => p.channel === name)?.mode).toBe("deny");
  await page.getByTestId("enqueue-key").fill(`${name}-denied`);
  await page.getByTestId("enqueue-channel").fill(name);
  await page.getByTestId("enqueue-text").fill("Not here");
  await page.getByTestId("enqueue-submit").click();
  await expect(page.getByTestId("enqueue-result")).toContainText("denied");
  expect(action(testInfo, `${name}-denied`)).toBeUndefined();
  aol(testInfo, "channel", "remove", name);
});
