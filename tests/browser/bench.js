// Browser figures for scripts/bench: the simulator's speed inside wasm, and how fast the
// topology of a 100-node world redraws (frames per second when every frame is a step).
//   node tests/browser/bench.js   (needs the built app in dist/ and target/release/halab)
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const halab = process.env.HALAB_BIN || path.join(root, "target/release/halab");
const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const server = spawn(halab, ["lab", "--port", String(port), "--dist", path.join(root, "dist")], { stdio: "ignore" });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  for (let i = 0; i < 50; i++) {
    try { await page.goto(`http://127.0.0.1:${port}/#bench=1&lang=en`); break; } catch { await sleep(100); }
  }
  await page.waitForSelector('[data-testid="bench"]', { timeout: 60000 });
  console.log(`wasm ${await page.textContent('[data-testid="bench"]')} (6 nodes, 600 commands per simulated second)`);

  await page.goto(`http://127.0.0.1:${port}/#nodes=100&lang=en`);
  await page.reload();
  await page.waitForSelector('[data-testid="node-n99"]');
  const frames = 60;
  const ms = await page.evaluate(async (frames) => {
    const step = document.querySelector('[data-testid="step"]');
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) {
      step.click();
      await new Promise((r) => requestAnimationFrame(() => r()));
    }
    return performance.now() - t0;
  }, frames);
  console.log(`topology with 100 nodes: ${(frames * 1000 / ms).toFixed(0)} frames per second (one simulation step and redraw per frame)`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
}
