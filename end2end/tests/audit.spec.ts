import { expect, test } from "@playwright/test";
import { aol, openSignedIn } from "./support";

// The Audit page (issue 20): every event, filtered by the address, the
// chain's head, and a check of the whole chain on demand.
test("the audit trail shows who did what, filters, and verifies", async ({ page }, testInfo) => {
  const key = `audit-${testInfo.project.name}-${Date.now()}`;
  aol(testInfo, "enqueue", "--type", "POST_SOCIAL", "--key", key, "--payload", JSON.stringify({ text: "For the record" }));
  await openSignedIn(page);
  await page.getByTestId("pause-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("paused");
  await page.getByTestId("pause-toggle").click();
  await expect(page.getByTestId("daemon-state")).toHaveText("running");

  await page.getByTestId("audit-link").click();
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await expect(page.getByTestId("audit").locator("tr", { hasText: "enqueued" }).first()).toBeVisible();
  await page.getByTestId("audit-event").first().waitFor();
  await page.getByTestId("audit-filter").getByTestId("audit-event").fill("flag");
  await page.getByTestId("audit-filter").getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/event=flag/);
  const events = page.getByTestId("audit").getByTestId("audit-event");
  await expect(events.first()).toHaveText("flag");
  expect(new Set(await events.allTextContents())).toEqual(new Set(["flag"]));
  await expect(page.getByTestId("audit").locator("tr", { hasText: "operator-token" }).first()).toBeVisible();

  await page.getByTestId("audit-verify").click();
  await expect(page.getByTestId("audit-verdict")).toContainText("intact");
  await expect(page.getByTestId("audit-last-check")).toContainText("intact");
  await testInfo.attach("audit page", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });
  expect(aol(testInfo, "audit", "verify")).toContain("intact");
});
