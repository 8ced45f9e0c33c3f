// End-to-end test of the chat example in headless Chromium (playwright-core, Debian's /usr/bin/chromium).
//
// Env: BASE_URL (the example's http://127.0.0.1:port), SCREENSHOT (path of the PNG to keep),
// LOGIN_VIA (optional: alice signs in through the framework's /login form first, and the page must show
// "Signed in as alice (LOGIN_VIA)"), CHROMIUM (browser path, default /usr/bin/chromium).
// Two pages (separate cookie jars) log in to the chat as alice and bob, exchange messages, see the typing
// indicator and its end, and alice sees bob leave. Prints one JSON line: {ok, browser, client, whoami, alice}.
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const WAIT = { timeout: 20_000 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 30_000,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run"],
});

const t0 = Date.now();
const step = (what) => console.error(`chat.mjs: +${Date.now() - t0} ms: ${what}`);

async function newPage(name) {
  const context = await browser.newContext({ viewport: { width: 800, height: 500 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`${name}: page error: ${err}`));
  page.on("console", (msg) => { if (msg.type() === "error") console.error(`${name}: console: ${msg.text()}`); });
  return page;
}

// log waits until the page's chat log has a line with exactly text.
const log = (page, text) => page.locator("li.log", { hasText: text }).filter({ hasText: new RegExp(`^${text}$`) })
  .first().waitFor(WAIT);

async function enterChat(page, name) {
  await page.locator(".usernameInput").waitFor(WAIT);
  await page.locator(".usernameInput").fill(name);
  await page.keyboard.press("Enter");
  await page.locator(".chat.page").waitFor({ state: "visible", ...WAIT });
}

const out = { browser: browser.version() };
try {
  const alice = await newPage("alice");
  const bob = await newPage("bob");

  if (process.env.LOGIN_VIA) {
    step("alice signs in through the framework");
    await alice.goto(base + "/login");
    await alice.locator("input[name=user]").fill("alice");
    await Promise.all([alice.waitForURL(base + "/", WAIT), alice.locator("button[type=submit]").click()]);
    const badge = alice.locator(".whoami");
    await badge.filter({ hasText: `Signed in as alice (${process.env.LOGIN_VIA})` }).waitFor(WAIT);
    out.whoami = await badge.textContent();
    // The framework's auth fills the nickname in.
    if (await alice.locator(".usernameInput").inputValue() !== "alice") throw new Error("nickname not filled in");
  } else {
    await alice.goto(base + "/");
  }
  out.client = await alice.evaluate(() => [...document.scripts].map((s) => s.getAttribute("src")).filter(Boolean));
  if (await alice.evaluate(() => typeof io) !== "function") {
    throw new Error("the browser client (io) did not load");
  }

  step("alice enters the chat");
  await enterChat(alice, "alice");
  await log(alice, "there's 1 participant");

  step("bob enters the chat");
  await bob.goto(base + "/");
  if (process.env.LOGIN_VIA && await bob.locator(".whoami").isVisible()) throw new Error("bob is not signed in but sees a badge");
  await enterChat(bob, "bob");
  await log(bob, "there are 2 participants");
  await log(alice, "bob joined");
  await log(alice, "there are 2 participants");

  step("alice writes");
  await alice.locator(".inputMessage").fill("Hello bob!");
  await alice.keyboard.press("Enter");
  await bob.locator("li.message", { hasText: "Hello bob!" }).filter({ has: bob.locator(".username", { hasText: "alice" }) })
    .waitFor(WAIT);

  step("bob types: alice sees the typing indicator, then its end");
  const typing = alice.locator("li.message.typing", { hasText: "is typing" }).filter({ has: alice.locator(".username", { hasText: "bob" }) });
  const seenTyping = typing.waitFor(WAIT);
  await bob.locator(".inputMessage").pressSequentially("Hi alice, how are you?", { delay: 60 });
  await seenTyping;
  await typing.waitFor({ state: "detached", ...WAIT }); // "stop typing" 400 ms after the last key
  await bob.keyboard.press("Enter");
  await alice.locator("li.message:not(.typing)", { hasText: "Hi alice, how are you?" }).waitFor(WAIT);

  // The server never echoes a message to its sender: alice has her message once, bob his once.
  const count = (page, text) => page.locator("li.message:not(.typing)", { hasText: text }).count();
  if (await count(alice, "Hello bob!") !== 1 || await count(bob, "Hi alice, how are you?") !== 1) {
    throw new Error("a message was echoed to its sender");
  }

  step("screenshot");
  await alice.screenshot({ path: process.env.SCREENSHOT || undefined });

  step("bob leaves");
  await bob.context().close();
  await log(alice, "bob left");
  await log(alice, "there's 1 participant");

  out.alice = await alice.locator("ul.messages li").allTextContents();
  out.ok = true;
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
