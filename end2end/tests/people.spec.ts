import { expect, test } from "@playwright/test";
import { addPerson, aol, cliFlags, openAs, openAutonomy } from "./support";

// Named people (issue 20): each signs in by name and password and sees only
// the controls their role allows; the server refuses the rest anyway.
test.describe.configure({ mode: "serial" });

const PASSWORD = "a long enough password";

test("a viewer sees the state and no control; signing out hides it again", async ({ page }, testInfo) => {
  addPerson(testInfo, "vera", "viewer", PASSWORD);
  await openAs(page, "vera", PASSWORD);
  await expect(page.getByTestId("signed-in-role")).toHaveText("viewer");
  await expect(page.getByTestId("daemon-state")).toHaveText("running");
  await expect(page.getByTestId("pause-toggle")).toHaveCount(0);
  await expect(page.getByTestId("enqueue-key")).toHaveCount(0);
  await testInfo.attach("viewer", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

  const refused = await page.request.post("/ui/flag", { form: { command: "pause", confirm: "false" } });
  expect(refused.status()).toBe(403);
  expect(await refused.text()).toContain("vera may not control the flags");

  await page.getByTestId("sign-out").click();
  await expect(page.getByTestId("sign-in-needed")).toBeVisible();
  await expect(page.getByTestId("daemon-state")).toHaveCount(0);
});

test("signed out in another tab: this one shows the sign-in form at its next change", async ({ page }, testInfo) => {
  await openAs(page, "vera", PASSWORD);
  await expect(page.getByTestId("daemon-state")).toHaveText("running");
  const other = await page.context().newPage();
  await openAutonomy(other);
  await expect(other.getByTestId("signed-in-as")).toHaveText("vera");
  await other.getByTestId("sign-out").click();
  await expect(other.getByTestId("token-form")).toBeVisible();

  // Something changes: the first tab reads again, is refused, and says who is signed in: nobody.
  cliFlags(testInfo, "pause");
  cliFlags(testInfo, "resume");
  await expect(page.getByTestId("sign-in-needed")).toBeVisible();
  await expect(page.getByTestId("token-form")).toBeVisible();
  await expect(page.getByTestId("signed-in-as")).toHaveCount(0);
  await expect(page.getByTestId("connection-lost")).toHaveCount(0);
  await testInfo.attach("signed out elsewhere", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });
  await other.close();
});

test("an approver writes posts but does not touch the flags", async ({ page }, testInfo) => {
  addPerson(testInfo, "abe", "approver", PASSWORD);
  await openAs(page, "abe", PASSWORD);
  await expect(page.getByTestId("signed-in-role")).toHaveText("approver");
  await expect(page.getByTestId("pause-toggle")).toHaveCount(0);
  const key = `abe-${testInfo.project.name}-${Date.now()}`;
  await page.getByTestId("enqueue-key").fill(key);
  await page.getByTestId("enqueue-text").fill("Written by Abe");
  await page.getByTestId("enqueue-submit").click();
  await expect(page.getByTestId("actions").locator("tr", { hasText: key })).toContainText("SUCCESS", { timeout: 5_000 });
  const listed = JSON.parse(aol(testInfo, "operator", "list", "--json"));
  expect(listed.map((p: any) => [p.name, p.role])).toEqual(expect.arrayContaining([["abe", "approver"]]));
});

test("a wrong password is refused without saying which part was wrong", async ({ page }) => {
  await openAutonomy(page);
  await page.getByTestId("sign-in-name").fill("vera");
  await page.getByTestId("token-input").fill("not her password at all");
  await page.getByTestId("token-submit").click();
  await expect(page.getByTestId("token-form")).toContainText("wrong name or password");
  await expect(page.getByTestId("signed-in-as")).toHaveCount(0);
});
