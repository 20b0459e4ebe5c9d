import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "@playwright/test";

// Its own server, so the test can stop and start it: the page must say the
// server is gone, then recover by itself when it is back. Runs once (SQLite).
const root = path.join(__dirname, "..", "..");
const port = 3105;
const dir = path.join(__dirname, "..", ".tmp", "reconnect");

function start(): ChildProcess {
  return spawn(path.join(root, "target", "debug", "aol"), ["serve", "--bind", `127.0.0.1:${port}`], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: `sqlite://${dir}/aol.db`, AOL_OPERATOR_TOKEN: "reconnect-token-0123456789", RUST_LOG: "warn" },
    stdio: "ignore",
  });
}

async function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  await exited;
}

test("the page says when the server is gone and recovers when it is back", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== "chromium-sqlite", "one server of its own is enough");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let server = start();
  try {
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status ?? 0, { timeout: 15_000 }).toBe(200);
    await page.goto(`http://127.0.0.1:${port}/`);
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1, { timeout: 15_000 });
    await page.getByTestId("token-input").fill("reconnect-token-0123456789");
    await page.getByTestId("token-submit").click();
    await expect(page.getByTestId("daemon-state")).toHaveText("running");

    await stop(server);
    await expect(page.getByTestId("connection-lost")).toBeVisible({ timeout: 5_000 });
    // The last state known stays on screen, greyed out: "running", or
    // "stopped" when the server's shutdown stopped its daemon and the page
    // was told so before the stream closed (a race a busy machine can lose).
    await expect(page.locator(".live-region.stale")).toHaveCount(1);
    await expect(page.getByTestId("daemon-state")).toHaveText(/^(running|stopped)$/);
    // A read made while the server is gone fails (the page reads at each
    // change, and a shutdown is one; here a filter's change): the page says
    // so and still shows the last state known, greyed out.
    await page.getByTestId("filter-status").selectOption("DLQ");
    await expect(page.getByTestId("state-unreadable")).toBeVisible();
    await expect(page.locator(".live-region.stale")).toHaveCount(1);
    await expect(page.getByTestId("daemon-state")).toHaveText(/^(running|stopped)$/);
    await testInfo.attach("server gone", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

    server = start();
    await expect(page.getByTestId("connection-lost")).toHaveCount(0, { timeout: 15_000 });
    await expect(page.locator(".live-region.stale")).toHaveCount(0);
    await expect(page.getByTestId("daemon-state")).toHaveText("running");
  } finally {
    await stop(server);
  }
});
