import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, Page, TestInfo } from "@playwright/test";

const aolBinary = path.join(__dirname, "..", "..", "target", "debug", "aol");

/** Writes a channel's secret into the server's AOL_SECRETS_DIR (serve.sh); returns the file's name. */
export function writeSecret(testInfo: TestInfo, name: string, secret: string): string {
  const dir = testInfo.project.metadata.secretsDir as string;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), secret + "\n", { mode: 0o600 });
  return name;
}

/** `aol status --json` against this project's database: the truth, read without the web server. */
export function dbStatus(testInfo: TestInfo): any {
  return JSON.parse(aol(testInfo, "status", "--json"));
}

/** Runs `aol <args>` against this project's database, as an operator's shell would; returns stdout. */
export function aol(testInfo: TestInfo, ...args: string[]): string {
  return aolWithInput(testInfo, "", ...args);
}

/** `aol <args>` with `input` on its stdin (a password). */
export function aolWithInput(testInfo: TestInfo, input: string, ...args: string[]): string {
  return execFileSync(aolBinary, args, {
    // The test servers (webhook stand-ins, the local PDS) are on this machine.
    env: { ...process.env, DATABASE_URL: testInfo.project.metadata.databaseUrl as string, AOL_ALLOW_PRIVATE_CHANNELS: "1" },
    input,
    stdio: ["pipe", "pipe", "pipe"],
  }).toString();
}

/** Adds a person with `role` and `password` from the command line. */
export function addPerson(testInfo: TestInfo, name: string, role: string, password: string): void {
  aol(testInfo, "operator", "add", name, "--role", role);
  aolWithInput(testInfo, password + "\n", "operator", "password", name);
}

/** Opens the Autonomy page and signs in as the person `name`. */
export async function openAs(page: Page, name: string, password: string): Promise<void> {
  await openAutonomy(page);
  await page.getByTestId("sign-in-name").fill(name);
  await page.getByTestId("token-input").fill(password);
  await page.getByTestId("token-submit").click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(name);
}

/** `aol flags <command>`. */
export function cliFlags(testInfo: TestInfo, command: string): void {
  aol(testInfo, "flags", command);
}

/** Opens the Autonomy page and waits until the wasm has hydrated it. */
export async function openAutonomy(page: Page): Promise<void> {
  await page.goto("/");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1, { timeout: 15_000 });
}

/** The token serve.sh gives the server. */
export const OPERATOR_TOKEN = "e2e-operator-token-0123456789";

/** Opens the page and signs in with the operator token (once per browser context). */
export async function openSignedIn(page: Page): Promise<void> {
  await openAutonomy(page);
  if (await page.getByTestId("token-form").count()) {
    await page.getByTestId("token-input").fill(OPERATOR_TOKEN);
    await page.getByTestId("token-submit").click();
  }
  await expect(page.getByTestId("pause-toggle")).toBeVisible();
}

export async function ledgerRows(page: Page): Promise<number> {
  return Number(await page.getByTestId("ledger-rows").textContent());
}
