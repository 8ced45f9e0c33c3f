// Smoke test: playwright-core drives Debian's chromium headless and screenshots a data: URL.
// Prints {"ok":true}. CHROMIUM overrides the browser path; SCREENSHOT=path keeps the PNG.
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 30_000,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 320, height: 200 } });
  await page.goto("data:text/html,<title>smoke</title><h1 style='color:green'>socket.io smoke</h1>");
  const png = await page.screenshot({ path: process.env.SCREENSHOT || undefined });
  const title = await page.title();
  if (title !== "smoke" || png.length < 100 || png.subarray(1, 4).toString() !== "PNG") {
    throw new Error(`unexpected page: title=${title} png=${png.length} bytes`);
  }
  console.log(JSON.stringify({ ok: true, browser: browser.version(), png: png.length }));
} finally {
  await browser.close();
}
