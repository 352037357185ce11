// Launches Debian's chromium through playwright-core for the inspector's browser tests, and saves screenshots.
// Why: the tests must drive a real browser without downloading one; scripts/ensure-chromium.sh installs it.
import { existsSync, mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

/** Where Debian's chromium package puts the browser (override with MEND_CHROMIUM). */
export const CHROMIUM_PATH = process.env.MEND_CHROMIUM ?? "/usr/bin/chromium";

/** Screenshots of the main views land here (git-ignored). */
export const SCREENSHOT_DIR = new URL("../../test-output/screenshots/", import.meta.url).pathname;

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts headless chromium; throws a clear error (never skips) when the browser is not installed.
 * @example const browser = await launchChromium(); const page = await browser.newPage()
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}. The run inspector's browser tests drive Debian's ` +
        "`chromium` package: run scripts/ensure-chromium.sh (apt-get install chromium) and try again.",
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
}

/**
 * Saves a full-page screenshot as test-output/screenshots/<name>.png.
 * @example await screenshot(page, "runs-list")
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
