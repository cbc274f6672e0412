// The lab in a real browser: headless Debian Chromium, driven by playwright-core, against the
// built app served by `halab lab` on 127.0.0.1. It runs a lesson through the UI, kills a node
// from the fault palette, steps back, and types in the terminal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const halab = process.env.HALAB_BIN || path.join(root, "target/release/halab");

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test("a learner runs a lesson, breaks a node and steps back", async () => {
  const port = await freePort();
  const server = spawn(halab, ["lab", "--port", String(port), "--dist", path.join(root, "dist")], { stdio: "ignore" });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    let loaded = false;
    for (let i = 0; i < 50 && !loaded; i++) {
      try {
        await page.goto(`http://127.0.0.1:${port}/#seed=7&lang=en`);
        loaded = true;
      } catch {
        await sleep(100);
      }
    }
    assert.ok(loaded, "the lab page loads");
    await page.waitForSelector('[data-testid="node-master"]');
    assert.equal(await page.textContent('[data-testid="mode"]'), "Simulated");

    // The seed 000 lesson, step by step, through the UI.
    await page.click('[data-testid="lesson-0"]');
    await page.waitForSelector('[data-testid="lesson-narrative"]');
    for (let i = 0; i < 5; i++) await page.click('[data-testid="lesson-next"]');
    const step5 = await page.getAttribute('[data-testid="lesson-step-5"]', "class");
    assert.match(step5, /\bok\b/, "LRANGE menu 0 -1 matched the tutorial's reply");
    // The lesson's commands appear in the node's terminal as if typed there.
    assert.match(await page.textContent('[data-testid="terminal-output"]'), /192\.168\.131\.148:6379> SET keyone lisuoOK/);

    // Break the node from the fault palette.
    await page.click('[data-testid="kill-master"]');
    assert.match(await page.getAttribute('[data-testid="node-master"]', "class"), /\bdown\b/);
    // Step back: the kill is undone and kept as a branch.
    await page.click('[data-testid="step-back"]');
    assert.doesNotMatch(await page.getAttribute('[data-testid="node-master"]', "class"), /\bdown\b/);
    assert.match(await page.textContent('[data-testid="branches"]'), /^1 /);
    // The lesson's progress is untouched: the undone action was not one of its steps.
    assert.match(await page.getAttribute('[data-testid="lesson-step-5"]', "class"), /\bok\b/);

    // The terminal behaves like redis-cli.
    await page.click('[data-testid="node-master"]');
    await page.fill('[data-testid="terminal-input"]', "LRANGE menu 0 -1");
    await page.press('[data-testid="terminal-input"]', "Enter");
    const out = await page.textContent('[data-testid="terminal-output"]');
    assert.match(out, /192\.168\.131\.148:6379> LRANGE menu 0 -1/);
    assert.match(out, /1\) "pine"2\) "banana"3\) "apple"/);
    const log = await page.textContent('[data-testid="log"]');
    assert.match(log, /\* Running mode=standalone, port=6379\./);

    // Cutting the terminal's link loses the command; healing it brings replies back.
    await page.click('[data-testid="cut-client:term-master"]');
    await page.fill('[data-testid="terminal-input"]', "PING");
    await page.press('[data-testid="terminal-input"]', "Enter");
    assert.doesNotMatch(await page.textContent('[data-testid="terminal-output"]'), /PONG/);
    await page.click('[data-testid="cut-client:term-master"]');
    await page.fill('[data-testid="terminal-input"]', "ECHO back");
    await page.press('[data-testid="terminal-input"]', "Enter");
    assert.match(await page.textContent('[data-testid="terminal-output"]'), /"back"/);

    // On a delayed link a command is seen travelling, and its reply arrives as time passes.
    await page.click('[data-testid="delay-client:term-master"]');
    await page.fill('[data-testid="terminal-input"]', "ECHO slow");
    await page.press('[data-testid="terminal-input"]', "Enter");
    assert.ok((await page.$$('[data-testid="message"]')).length >= 1, "a message dot on the link");
    for (let i = 0; i < 40 && !/"slow"/.test(await page.textContent('[data-testid="terminal-output"]')); i++) {
      await page.click('[data-testid="step"]');
    }
    assert.match(await page.textContent('[data-testid="terminal-output"]'), /"slow"/);
    await page.click('[data-testid="delay-client:term-master"]');

    // Scrubbing back to the start and restoring the branch brings the future back.
    const before = await page.textContent('[data-testid="terminal-output"]');
    await page.$eval('[data-testid="scrubber"]', (el) => { el.value = "1"; el.dispatchEvent(new Event("change", { bubbles: true })); });
    assert.doesNotMatch(await page.textContent('[data-testid="terminal-output"]'), /"slow"/);
    const branches = await page.$$('[data-testid^="branch-"]');
    await branches[branches.length - 1].click();
    assert.equal(await page.textContent('[data-testid="terminal-output"]'), before);

    // The address reproduces the run: a fresh page from the same link shows the same terminal.
    const link = page.url();
    assert.match(link, /&run=/);
    const again = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await again.goto(link);
    await again.waitForSelector('[data-testid="node-master"]');
    assert.equal(await again.textContent('[data-testid="terminal-output"]'), await page.textContent('[data-testid="terminal-output"]'));

    const shot = process.env.SCREENSHOT || path.join(root, "target/lab-screenshot.png");
    await page.screenshot({ path: shot });
  } finally {
    await browser.close();
    server.kill("SIGTERM");
  }
});
