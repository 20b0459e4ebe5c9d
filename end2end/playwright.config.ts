import { defineConfig } from "@playwright/test";

// Debian's Chromium (apt-get install chromium); Playwright's own browser
// download is not reachable here. Each database gets its own fresh server.
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const pgAdmin = process.env.AOL_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const servers = [
  { name: "sqlite", port: 3100, databaseUrl: "sqlite://" + __dirname + "/.tmp/sqlite/aol.db" },
  { name: "postgres", port: 3101, databaseUrl: pgAdmin.replace(/\/[^/]*$/, "/aol_e2e") },
];

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"], ["html", { open: "never" }]],
  use: {
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    },
  },
  projects: servers.map((s) => ({
    name: `chromium-${s.name}`,
    use: { browserName: "chromium" as const, baseURL: `http://127.0.0.1:${s.port}` },
    metadata: {
      databaseUrl: s.databaseUrl,
      secretsDir: __dirname + "/.tmp/" + s.name + "/secrets",
    },
  })),
  webServer: servers.map((s) => ({
    command: `./serve.sh ${s.name} ${s.port}`,
    url: `http://127.0.0.1:${s.port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
  })),
});
