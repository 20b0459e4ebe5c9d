import * as http from "node:http";
import { expect, test } from "@playwright/test";
import { openSignedIn } from "./support";

test("notifications: added from the dashboard, a test delivered and signed, removed", async ({ page }, testInfo) => {
  // A receiver on this machine (the test server allows private addresses).
  const received: { headers: http.IncomingHttpHeaders; body: any }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const port = (receiver.address() as any).port;
  try {
    await openSignedIn(page);
    const name = `team-${testInfo.project.name.replace("chromium-", "")}-${Date.now() % 100000}`;
    await page.getByTestId("notifier-name").fill(name);
    await page.getByTestId("notifier-url").fill(`http://127.0.0.1:${port}/hook/secret-path`);
    await page.getByTestId("notifier-events").fill("awaiting_approval,failed");
    await page.getByTestId("notifier-submit").click();
    const row = page.locator(`[data-testid=notifier-row][data-notifier="${name}"]`);
    await expect(row).toContainText("awaiting_approval, failed");
    await expect(row).toContainText(`http://127.0.0.1:${port}/…`);
    await expect(row).not.toContainText("secret-path");

    await row.getByTestId("notifier-test").click();
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(1);
    expect(received[0].body).toMatchObject({ event: "test", data: { message: "a test of this notifier" } });
    expect(received[0].headers["x-aol-event-id"]).toBe(String(received[0].body.id));
    // The card's counts refresh by themselves once the delivery is recorded.
    await expect(row.getByTestId("notifier-deliveries")).toContainText("1 delivered", { timeout: 10_000 });
    await testInfo.attach("notifications", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

    await page.getByTestId("notifier-name").fill(`${name}-2`);
    await page.getByTestId("notifier-url").fill(`http://127.0.0.1:${port}/hook`);
    await page.getByTestId("notifier-events").fill("tweeted");
    await page.getByTestId("notifier-submit").click();
    await expect(page.getByTestId("notifier-error")).toContainText('unknown event "tweeted"');

    await row.getByTestId("notifier-remove").click();
    await expect(row).toHaveCount(0);
  } finally {
    receiver.close();
  }
});
