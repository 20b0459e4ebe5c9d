import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { expect, Page, TestInfo } from "@playwright/test";

const aolBinary = path.join(__dirname, "..", "..", "target", "debug", "aol");

/** `aol status --json` against this project's database: the truth, read without the web server. */
export function dbStatus(testInfo: TestInfo): any {
  const out = execFileSync(aolBinary, ["status", "--json"], {
    env: { ...process.env, DATABASE_URL: testInfo.project.metadata.databaseUrl as string },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out.toString());
}

/** `aol flags <command>` from outside the server, as an operator's shell would. */
export function cliFlags(testInfo: TestInfo, command: string): void {
  execFileSync(aolBinary, ["flags", command], {
    env: { ...process.env, DATABASE_URL: testInfo.project.metadata.databaseUrl as string },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Opens the Autonomy page and waits until the wasm has hydrated it. */
export async function openAutonomy(page: Page): Promise<void> {
  await page.goto("/");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1, { timeout: 15_000 });
}

export async function ledgerRows(page: Page): Promise<number> {
  return Number(await page.getByTestId("ledger-rows").textContent());
}
