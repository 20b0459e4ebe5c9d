import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { expect, test } from "@playwright/test";
import { aol, cliFlags, openSignedIn, writeSecret } from "./support";

test.describe.configure({ mode: "serial" });

const root = path.join(__dirname, "..", "..");
const chartFile = path.join(root, "tests", "fixtures", "chart.png");

type Pds = { url: string; handle: string; did: string; app_password: string; stop: () => void };

/** A port the system has just handed out, so no other server holds it. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The Bluesky reference server (scripts/pds/run.sh) on free ports. */
async function startPdsOnce(): Promise<Pds> {
  const [port, plcPort] = [await freePort(), await freePort()];
  const state = fs.mkdtempSync(path.join(os.tmpdir(), "aol-e2e-pds-"));
  const child: ChildProcess = spawn("bash", [path.join(root, "scripts", "pds", "run.sh")], {
    env: { ...process.env, PDS_PORT: String(port), PLC_PORT: String(plcPort), STATE: state },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line: string = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the local Bluesky server stopped (${code})`)));
  });
  try {
    return { ...JSON.parse(line), stop: () => child.kill("SIGTERM") };
  } catch (error) {
    // Not ready after all: stopped, so that another try starts clean.
    child.kill("SIGTERM");
    throw new Error(`the local Bluesky server did not start (${error}): ${line}`);
  }
}

/** A port freed a moment ago can be taken again before the server binds it
 * (CI once lost that race), so a start that fails is tried twice more. */
async function startPds(): Promise<Pds> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPdsOnce();
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

test("the inbox shows a post with its image and alt text; approved, the record on Bluesky has the image", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const pds = await startPds();
  const secret = writeSecret(testInfo, "pds-app-password", pds.app_password);
  const run = `${testInfo.project.name.replace("chromium-", "")}-${Date.now() % 100000}`;
  const name = `bsky-${run}`;
  const key = `${name}-image`;
  try {
    aol(testInfo, "channel", "add", name, "--kind", "bluesky", "--url", pds.url, "--handle", pds.handle, "--secret-file", secret);
    aol(testInfo, "channel", "arm", name);
    const media = JSON.parse(aol(testInfo, "media", "add", chartFile, "--json"));
    expect(media).toMatchObject({ mime: "image/png", size: fs.statSync(chartFile).size });
    cliFlags(testInfo, "real");
    const text = `Our numbers (${run}) https://example.com/numbers #Launch`;
    const payload = { channel: name, text, langs: ["en"], images: [{ media: media.sha256, alt: `The chart of ${run}` }] };
    aol(testInfo, "enqueue", "--type", "POST_SOCIAL", "--key", key, "--payload", JSON.stringify(payload));

    await openSignedIn(page);
    const item = page.locator(`[data-testid=inbox-item][data-key="${key}"]`);
    await expect(item.getByTestId("post-text")).toContainText(`Our numbers (${run})`);
    await expect(item.getByTestId("post-facet").first()).toHaveAttribute("href", "https://example.com/numbers");
    const image = item.getByTestId("post-image");
    await expect(image).toHaveAttribute("alt", `The chart of ${run}`);
    await expect(image).toHaveAttribute("src", `/ui/media/${media.sha256}`);
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(60);
    await expect(item.getByTestId("post-alt")).toHaveText(`Alt: The chart of ${run}`);
    await expect(item.getByTestId("inbox-request")).toContainText(media.sha256);
    await item.scrollIntoViewIfNeeded();
    await testInfo.attach("inbox with an image", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });

    await item.getByTestId("inbox-approve").click();
    const done = () => JSON.parse(aol(testInfo, "actions", "--limit", "200", "--json")).find((a: any) => a.idempotency_key === key);
    await expect.poll(() => done().status, { timeout: 20_000 }).toBe("SUCCESS");

    const listed = await (await fetch(`${pds.url}/xrpc/com.atproto.repo.listRecords?repo=${pds.handle}&collection=app.bsky.feed.post&limit=100`)).json();
    const records = listed.records.filter((r: any) => r.value.text === text);
    expect(records).toHaveLength(1);
    const embedded = records[0].value.embed.images[0];
    expect(embedded.alt).toBe(`The chart of ${run}`);
    expect(records[0].value.langs).toEqual(["en"]);
    const blob = await fetch(`${pds.url}/xrpc/com.atproto.sync.getBlob?did=${pds.did}&cid=${embedded.image.ref.$link}`);
    expect(Buffer.from(await blob.arrayBuffer()).equals(fs.readFileSync(chartFile))).toBe(true);
  } finally {
    cliFlags(testInfo, "proof");
    pds.stop();
  }
});
