import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { expect, test } from "@playwright/test";
import { aol, cliFlags, openSignedIn, writeSecret } from "./support";

test.describe.configure({ mode: "serial" });

function channels(testInfo: any): any[] {
  return JSON.parse(aol(testInfo, "channel", "list", "--json"));
}

test("channels: added from the dashboard disarmed, armed, a bad one refused, removed", async ({ page }, testInfo) => {
  await openSignedIn(page);
  const name = `hook-${testInfo.project.name.replace("chromium-", "")}-${Date.now() % 100000}`;
  await page.getByTestId("channel-name").fill(name);
  await page.getByTestId("channel-kind").selectOption("webhook");
  await page.getByTestId("channel-url").fill("https://hooks.example/aol");
  await page.getByTestId("channel-secret-from").selectOption("env");
  await page.getByTestId("channel-secret-place").fill("AOL_SECRET_HOOK");
  await page.getByTestId("channel-submit").click();
  const row = page.locator(`[data-testid=channel-row][data-channel="${name}"]`);
  await expect(row.getByTestId("channel-armed")).toHaveText("disarmed");
  await expect(row).toContainText("env AOL_SECRET_HOOK");
  let stored = channels(testInfo).find((c) => c.name === name);
  expect(stored).toMatchObject({ kind: "webhook", armed: false, secret_env: "AOL_SECRET_HOOK", base_url: "https://hooks.example/aol" });

  await row.getByTestId("channel-arm-toggle").click();
  await expect(row.getByTestId("channel-armed")).toHaveText("armed");
  expect(channels(testInfo).find((c) => c.name === name).armed).toBe(true);
  await testInfo.attach("channels", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

  await page.getByTestId("channel-name").fill(`${name}-2`);
  await page.getByTestId("channel-url").fill("http://hooks.example/aol");
  await page.getByTestId("channel-submit").click();
  await expect(page.getByTestId("channel-error")).toContainText("plain http");
  expect(channels(testInfo).some((c) => c.name === `${name}-2`)).toBe(false);

  await row.getByTestId("channel-remove").click();
  await expect(row).toHaveCount(0);
  expect(channels(testInfo).some((c) => c.name === name)).toBe(false);
});

test("an UNCONFIRMED post is settled from its page: posted, or sent again", async ({ page }, testInfo) => {
  test.setTimeout(60_000);
  // A webhook that takes the request and never answers: the post's fate is unknown.
  const sockets: any[] = [];
  const hanging = http.createServer((req) => { req.resume(); });
  hanging.on("connection", (s) => sockets.push(s));
  await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
  const port = (hanging.address() as any).port;
  const secret = writeSecret(testInfo, "lost-hook-key", "e2e-webhook-signing-key");
  const name = `lost-${testInfo.project.name.replace("chromium-", "")}-${Date.now() % 100000}`;
  aol(testInfo, "channel", "add", name, "--kind", "webhook", "--url", `http://127.0.0.1:${port}/hook`, "--secret-file", secret);
  aol(testInfo, "channel", "arm", name);
  aol(testInfo, "policy", "set", name, "auto");
  const keys = [`${name}-a`, `${name}-b`];
  try {
    cliFlags(testInfo, "real");
    for (const key of keys) {
      aol(testInfo, "enqueue", "--type", "POST_SOCIAL", "--key", key, "--payload", JSON.stringify({ channel: name, text: "Did it go out?" }));
    }
    // Each post's status, with its error when it is not the one expected,
    // so that a failure says where each post went.
    const statuses = () => {
      const actions = JSON.parse(aol(testInfo, "actions", "--limit", "100", "--json"));
      return Object.fromEntries(keys.map((key) => {
        const a = actions.find((x: any) => x.idempotency_key === key);
        return [key, !a ? "missing" : a.status === "UNCONFIRMED" ? a.status : `${a.status} after ${a.attempts} attempt(s): ${a.last_error}`];
      }));
    };
    // Each post waits for the HTTP timeout (1 s) in turn; a loaded machine takes longer.
    await expect.poll(statuses, { timeout: 30_000 }).toEqual(Object.fromEntries(keys.map((key) => [key, "UNCONFIRMED"])));
  } finally {
    cliFlags(testInfo, "proof");
    sockets.forEach((s) => s.destroy());
    hanging.close();
  }
  const unconfirmed = JSON.parse(aol(testInfo, "actions", "--status", "UNCONFIRMED", "--json"));
  const id = (key: string) => unconfirmed.find((a: any) => a.idempotency_key === key).id;

  await openSignedIn(page);
  await page.goto(`/actions/${id(keys[0])}`);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await expect(page.getByTestId("action-status")).toHaveText("UNCONFIRMED");
  await expect(page.getByTestId("last-error")).toContainText("may have been posted");
  await testInfo.attach("unconfirmed", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });
  await page.getByTestId("resolve-url").fill("https://hooks.example/posts/42");
  await page.getByTestId("resolve-reason").fill("seen on the account");
  await page.getByTestId("resolve-posted").click();
  await expect(page.getByTestId("action-status")).toHaveText("SUCCESS");
  await expect(page.getByTestId("remote-link")).toHaveAttribute("href", "https://hooks.example/posts/42");
  await expect(page.getByTestId("logs")).toContainText("marked as posted (https://hooks.example/posts/42) by operator-token: seen on the account");
  await expect(page.getByTestId("resolve")).toHaveCount(0);

  await page.goto(`/actions/${id(keys[1])}`);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await page.getByTestId("resolve-resend").click();
  await expect(page.getByTestId("logs")).toContainText("sent again by operator-token");
  await expect(page.getByTestId("action-status")).not.toHaveText("UNCONFIRMED");
});
