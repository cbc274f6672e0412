// The lab in a real browser: headless Debian Chromium, driven by playwright-core, against the
// built app served by `halab lab` on 127.0.0.1. It runs a lesson through the UI, kills a node
// from the fault palette, steps back, and types in the terminal; and it watches a replica's
// link to its master come up, carry writes, and be cut and healed.
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

// A `halab lab` server on a free port and a headless Chromium; `run(browser, port)` drives them.
async function withLab(run) {
  const port = await freePort();
  const server = spawn(halab, ["lab", "--port", String(port), "--dist", path.join(root, "dist"),
    "--lessons", path.join(root, "lessons")], { stdio: "ignore" });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    await run(browser, port);
  } finally {
    await browser.close();
    // SIGINT: the lab stops the processes it started, as on Ctrl-C.
    server.kill("SIGINT");
  }
}

async function open(browser, port, hash) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  let loaded = false;
  for (let i = 0; i < 50 && !loaded; i++) {
    try {
      await page.goto(`http://127.0.0.1:${port}/${hash}`);
      loaded = true;
    } catch {
      await sleep(100);
    }
  }
  assert.ok(loaded, "the lab page loads");
  await page.waitForSelector('[data-testid^="node-"]');
  return page;
}

test("a learner runs a lesson, breaks a node and steps back", () => withLab(async (browser, port) => {
  const page = await open(browser, port, "#seed=7&lang=en");
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
}));

test("a replica's link to its master: drawn, labelled, carrying writes, cut and healed", () => withLab(async (browser, port) => {
  const page = await open(browser, port, "#seed=7&lang=en");
  const link = '[data-testid="repl-link-replica"]';
  await page.click('.lesson-choice:has-text("REPLICAOF and masterauth")');
  await page.waitForSelector('[data-testid="node-replica"]');
  assert.equal((await page.$$(link)).length, 0, "no replication link before REPLICAOF");
  assert.match(await page.textContent('[data-testid="node-role-master"]'), /^master · offset \d+$/);

  // Run the lesson's steps: REPLICAOF, masterauth, the handshake and the full sync.
  for (let i = 0; i < 200 && !(await page.isDisabled('[data-testid="lesson-next"]')); i++) {
    await page.click('[data-testid="lesson-next"]');
  }
  const failed = await page.$$eval('[data-testid^="lesson-step-"]', (els) =>
    els.filter((e) => e.classList.contains("fail")).map((e) => e.textContent));
  assert.deepEqual(failed, [], "every step of the lesson passes in the browser");

  // The link, from replica to master, is up and labelled with the replica's offset and lag.
  assert.match(await page.getAttribute(link, "class"), /\brepl\b.*\bup\b/);
  const label = await page.textContent('[data-testid="repl-offset-replica"]');
  assert.match(label, /^offset \d+ · lag \d+s$/);
  assert.ok(Number(label.match(/offset (\d+)/)[1]) > 0, "the replica has applied the master's stream");
  assert.match(await page.textContent('[data-testid="node-role-replica"]'), /^slave · offset \d+$/);
  assert.match(await page.textContent('[data-testid="node-role-master"]'), /^master · offset \d+$/);
  // How it last synced: in the link's tooltip and in the selected replica's details.
  assert.match(await page.textContent(`${link} title`), /replica → master: offset \d+ · lag \d+s\nlast sync: full resync/);
  await page.click('[data-testid="node-replica"]');
  assert.match(await page.textContent('[data-testid="repl-note-replica"]'), /^last sync: full resync/);

  // The traffic between master and replica (the write stream one way, REPLCONF ACK every
  // second the other) travels as dots along the link.
  await page.click('[data-testid="node-master"]');
  await page.fill('[data-testid="terminal-input"]', "AUTH stevenux");
  await page.press('[data-testid="terminal-input"]', "Enter");
  await page.fill('[data-testid="terminal-input"]', "SET travelling yes");
  await page.press('[data-testid="terminal-input"]', "Enter");
  let dots = 0;
  for (let i = 0; i < 60 && dots === 0; i++) {
    dots = (await page.$$(`${link} [data-testid="message"]`)).length;
    if (dots === 0) await page.click('[data-testid="step"]');
  }
  assert.ok(dots >= 1, "a message between master and replica is a dot on the replication link");
  await page.screenshot({ path: process.env.REPL_SCREENSHOT || "/tmp/lab-repl.png" });

  // Cut the link from the fault palette: drawn cut; heal it and the link is up again.
  const cut = '[data-testid="cut-repl-replica"]';
  assert.equal(await page.textContent(cut), "cut replica↔master");
  await page.click(cut);
  assert.match(await page.getAttribute(link, "class"), /\bcut\b/);
  assert.match(await page.textContent('[data-testid="repl-offset-replica"]'), /^cut · offset \d+ · lag \d+s$/);
  assert.equal(await page.textContent(cut), "heal replica↔master");
  await page.screenshot({ path: process.env.REPL_CUT_SCREENSHOT || "/tmp/lab-repl-cut.png" });
  await page.click(cut);
  for (let i = 0; i < 100 && !/\bup\b/.test(await page.getAttribute(link, "class")); i++) {
    await page.click('[data-testid="step"]');
  }
  assert.match(await page.getAttribute(link, "class"), /\bup\b/);
  // The client links are still drawn and cuttable as before.
  assert.ok(await page.$('[data-testid="link-client:m"]'));
  assert.ok(await page.$('[data-testid="cut-client:m"]'));
}));

test("a sentinel watches a master, finds it down and fails over: drawn with its opinion", () => withLab(async (browser, port) => {
  const page = await open(browser, port, "#seed=7&lang=en");
  await page.click('.lesson-choice:has-text("One sentinel fails over a master")');
  await page.waitForSelector('[data-testid="node-s"]');
  assert.match(await page.textContent('[data-testid="node-role-s"]'), /^sentinel/);
  // Up to the kill: the sentinel watches r6379 and says it is ok.
  for (let i = 0; i < 15; i++) await page.click('[data-testid="lesson-next"]');
  assert.match(await page.getAttribute('[data-testid="monitor-link-s"]', "class"), /\bmonitor\b.*\bup\b/);
  assert.equal(await page.textContent('[data-testid="opinion-s"]'), "ok");
  assert.match(await page.textContent('[data-testid="monitor-link-s"] title'), /^s → r6379: master ok$/);
  await page.screenshot({ path: process.env.SENTINEL_SCREENSHOT || "/tmp/lab-sentinel.png" });
  // The rest of the lesson: the failover, the old master's return.
  for (let i = 0; i < 200 && !(await page.isDisabled('[data-testid="lesson-next"]')); i++) {
    await page.click('[data-testid="lesson-next"]');
  }
  const failed = await page.$$eval('[data-testid^="lesson-step-"]', (els) =>
    els.filter((e) => e.classList.contains("fail")).map((e) => e.textContent));
  assert.deepEqual(failed, [], "every step of the sentinel lesson passes in the browser");
  // Now it believes in r6380, and the old master follows it.
  assert.match(await page.textContent('[data-testid="monitor-link-s"] title'), /^s → r6380: master ok$/);
  assert.match(await page.textContent('[data-testid="node-role-r6379"]'), /^slave/);
  await page.click('[data-testid="node-s"]');
  assert.match(await page.textContent('[data-testid="log"]'), /\+switch-master master 127\.0\.0\.1 6379 127\.0\.0\.1 6380/);
  await page.screenshot({ path: process.env.SENTINEL_AFTER_SCREENSHOT || "/tmp/lab-sentinel-after.png" });
  // The clock-jump fault puts the sentinel in TILT: its log says so.
  await page.click('[data-testid="clock-jump-s"]');
  await page.click('[data-testid="node-s"]');
  for (let i = 0; i < 20 && !/\+tilt #tilt mode entered/.test(await page.textContent('[data-testid="log"]')); i++) {
    await page.click('[data-testid="step"]');
  }
  assert.match(await page.textContent('[data-testid="log"]'), /\+tilt #tilt mode entered/);
}));

test("three sentinels fail over a password-protected master: the strip, the new master, a step back before the kill and a replay", () => withLab(async (browser, port) => {
  const page = await open(browser, port, "#seed=7&lang=en");
  await page.click('.lesson-choice:has-text("Sentinel failover on three hosts")');
  await page.waitForSelector('[data-testid="node-s150"]');
  // Steps read as sentences naming their node, not as the lesson file's syntax.
  assert.equal(await page.textContent('[data-testid="lesson-step-2"]'), "·On n148, run AUTH stevenux and expect OK↺");
  assert.match(await page.textContent('[data-testid="lesson-step-24"]'), /Check that s148's log says \+sdown master mymaster 192\.168\.131\.148 6379/);
  // Up to the kill; a command step shows its node's terminal, typed there.
  for (let i = 0; i < 21; i++) await page.click('[data-testid="lesson-next"]');
  assert.match(await page.getAttribute('[data-testid="terminal-tab-n150"]', "class"), /\bactive\b/);
  assert.match(await page.textContent('[data-testid="terminal-output"]'), /192\.168\.131\.150:6379> GET keyone"lisuo"/);
  assert.equal(await page.$('[data-testid="failovers"]'), null, "no failover yet");
  // Sentinel's conversation is drawn travelling: a hello within a few events.
  let hello = false;
  for (let i = 0; i < 300 && !hello; i++) {
    await page.click('[data-testid="step"]');
    hello = (await page.$('[data-testid="message"][data-kind="hello"]')) !== null;
  }
  assert.ok(hello, "a hello is drawn on its way");
  assert.match(await page.textContent('[data-testid="message"][data-kind="hello"] title'), /hello \(__sentinel__:hello\) · 192\.168\.131\.\d+:26379 · \w{8} · epoch 0 · mymaster/);
  await page.click('[data-testid="lesson-reset-22"]');
  // The kill and the failover, through +switch-master.
  for (let i = 0; i < 7; i++) await page.click('[data-testid="lesson-next"]');
  const failed = await page.$$eval('[data-testid^="lesson-step-"]', (els) =>
    els.filter((e) => e.classList.contains("fail")).map((e) => e.textContent));
  assert.deepEqual(failed, [], "every step through +switch-master passes in the browser");
  assert.match(await page.textContent('[data-testid="node-role-n150"]'), /^master/);
  for (const s of ["s148", "s149", "s150"]) {
    assert.match(await page.textContent(`[data-testid="monitor-link-${s}"] title`), new RegExp(`^${s} → n150: mymaster ok$`), `${s} agrees`);
  }
  // The leader's strip: every stage reached, with its virtual time; the others not elected.
  const strip = await page.textContent('[data-testid="failovers"]');
  const ended = await page.$$('[data-testid$="-failover-end"].reached');
  assert.equal(ended.length, 1, `one try ended: ${strip}`);
  assert.match(strip, /epoch 1 · t=\d+\.\d\ds.*try\+0\.00s.*elected\+\d+\.\d\ds.*SLAVEOF NO ONE\+\d+\.\d\ds.*wait promotion\+\d+\.\d\ds.*reconf replicas\+\d+\.\d\ds.*end\+\d+\.\d\ds.*chose 192\.168\.131\.150:6379/);
  await page.screenshot({ path: process.env.FAILOVER_SCREENSHOT || "/tmp/lab-failover.png" });
  // Back to just before the kill: the old master is master again, nobody has failed over.
  await page.click('[data-testid="lesson-reset-22"]');
  assert.match(await page.textContent('[data-testid="node-role-n148"]'), /^master/);
  assert.equal(await page.$('[data-testid="failovers"]'), null);
  assert.match(await page.textContent('[data-testid="monitor-link-s150"] title'), /^s150 → n148: mymaster ok$/);
  // And the replay is the same run: the same strip, to the millisecond.
  for (let i = 0; i < 7; i++) await page.click('[data-testid="lesson-next"]');
  assert.equal(await page.textContent('[data-testid="failovers"]'), strip);
  // Pausing a process (SIGSTOP) from the palette: drawn paused, and it answers nothing.
  await page.click('[data-testid="pause-n150"]');
  assert.match(await page.getAttribute('[data-testid="node-n150"]', "class"), /\bpaused\b/);
  assert.match(await page.textContent('[data-testid="node-n150"]'), /PAUSED \(SIGSTOP\)/);
  await page.click('[data-testid="terminal-tab-n150"]');
  await page.fill('[data-testid="terminal-input"]', "AUTH stevenux");
  await page.press('[data-testid="terminal-input"]', "Enter");
  assert.match(await page.textContent('[data-testid="terminal-output"]'), /> AUTH stevenux$/, "no answer while paused");
  await page.click('[data-testid="pause-n150"]');
  assert.doesNotMatch(await page.getAttribute('[data-testid="node-n150"]', "class"), /\bpaused\b/);
  // Resumed, it answers what waited for it: play until the reply is drawn.
  await page.click('[data-testid="play"]');
  for (let i = 0; i < 100 && !/> AUTH stevenuxOK$/.test(await page.textContent('[data-testid="terminal-output"]')); i++) await sleep(100);
  await page.click('[data-testid="play"]');
  assert.match(await page.textContent('[data-testid="terminal-output"]'), /> AUTH stevenuxOK$/, "the command that waited is answered after resume");
}));

test("live: real processes started from the page, their master killed, a new one drawn, the session replayed", () => withLab(async (browser, port) => {
  const page = await open(browser, port, "#lang=en");
  await page.click('[data-testid="go-live"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="mode"]')?.textContent === "Live");
  await page.waitForFunction(() => document.querySelector('[data-testid="live-kind"]')?.textContent === "no deployment");
  // A lesson, live: its topology starts as real processes and each step runs on them.
  await page.click('.lesson-choice:has-text("The master reads and writes")');
  await page.waitForSelector('[data-testid="node-master"]:not(.down)', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="live-kind"]')?.textContent === "supervised processes");
  const steps = (await page.$$('[data-testid^="lesson-step-"]')).length;
  assert.ok(steps >= 6, `${steps} steps`);
  for (let i = 1; i <= steps; i++) {
    await page.click('[data-testid="lesson-next"]');
    await page.waitForSelector(`[data-testid="lesson-step-${i}"].ok, [data-testid="lesson-step-${i}"].fail`, { timeout: 30000 });
    assert.match(await page.getAttribute(`[data-testid="lesson-step-${i}"]`, "class"), /\bok\b/, `live step ${i}`);
  }
  assert.match(await page.textContent('[data-testid="terminal-output"]'), /127\.0\.0\.1:6379> SET foo barOK/);
  // 1 master + 2 replicas + 3 sentinels, real halab processes on 127.0.0.0/8.
  await page.click('[data-testid="live-start-sentinel"]');
  await page.waitForSelector('[data-testid="node-sentinel3"]', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid="live-kind"]'), /supervised processes/);
  // Every sentinel watches the master, and both replicas stream from it.
  await page.waitForFunction(() => ["sentinel1", "sentinel2", "sentinel3"].every((s) =>
    document.querySelector(`[data-testid="opinion-${s}"]`)?.textContent.includes("ok")), null, { timeout: 30000 });
  await page.waitForSelector('[data-testid="repl-link-replica1"].up', { timeout: 30000 });
  await page.waitForSelector('[data-testid="repl-link-replica2"].up', { timeout: 30000 });
  // A write in the master's terminal.
  await page.click('[data-testid="terminal-tab-master"]');
  await page.fill('[data-testid="terminal-input"]', "SET live yes");
  await page.press('[data-testid="terminal-input"]', "Enter");
  await page.waitForFunction(() => /127\.0\.0\.1:6379> SET live yesOK/.test(document.querySelector('[data-testid="terminal-output"]').textContent));
  // The sentinels must know each other before the master dies (their hellos every 2 s).
  await page.click('[data-testid="terminal-tab-sentinel1"]');
  for (let i = 0; i < 300; i++) {
    await page.fill('[data-testid="terminal-input"]', "SENTINEL CKQUORUM mymaster");
    await page.press('[data-testid="terminal-input"]', "Enter");
    const out = await page.textContent('[data-testid="terminal-output"]');
    if (/OK 3 usable Sentinels/.test(out.split("CKQUORUM").pop())) break;
    await sleep(100);
  }
  // Kill the master from the palette: the sentinels fail over, the page draws the new master.
  await page.click('[data-testid="kill-master"]');
  await page.waitForSelector('[data-testid="node-master"].down', { timeout: 30000 });
  await page.waitForFunction(() => ["replica1", "replica2"].some((r) =>
    document.querySelector(`[data-testid="node-role-${r}"]`)?.textContent.startsWith("master")), null, { timeout: 60000 });
  const promoted = (await page.textContent('[data-testid="node-role-replica1"]')).startsWith("master") ? "replica1" : "replica2";
  // Its terminal reads what the old master took.
  await page.click(`[data-testid="terminal-tab-${promoted}"]`);
  await page.fill('[data-testid="terminal-input"]', "GET live");
  await page.press('[data-testid="terminal-input"]', "Enter");
  await page.waitForFunction(() => /GET live"yes"/.test(document.querySelector('[data-testid="terminal-output"]').textContent));
  // The sentinel's log shows the switch.
  await page.click('[data-testid="terminal-tab-sentinel1"]');
  await page.waitForFunction(() => /\+switch-master mymaster 127\.0\.0\.1 6379/.test(document.querySelector('[data-testid="log"]').textContent), null, { timeout: 30000 });
  await page.screenshot({ path: path.join(root, "target/lab-live-screenshot.png") });
  // Replay in the simulator: the same topology, the same inputs; the page becomes the simulator.
  await page.click('[data-testid="live-replay"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="mode"]')?.textContent === "Simulated", null, { timeout: 60000 });
  assert.match(page.url(), /blank=1&run=/);
  const note = await page.textContent('[data-testid="replay-note"]');
  assert.match(note, /replayed from a live run: \d+ replies compared/);
  await page.waitForSelector('[data-testid="node-sentinel3"]');
  // In the simulated replay the master was killed too, and a replica took over.
  assert.match(await page.getAttribute('[data-testid="node-master"]', "class"), /\bdown\b/);
}));
