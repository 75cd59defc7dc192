/**
 * Debian's chromium for the browser tests (tests/web/) and the Lighthouse bench, driven by
 * playwright-core with an explicit executable path (playwright-core downloads no browser).
 *
 * The flags: headless without a GPU or a sandbox (tests run as root in a container), and no
 * background traffic. Without the background-networking flags, chromium opens connections of its
 * own (component updates, sync, QUIC probes) that this closed network refuses, and its network
 * stack then misbehaves for the page under test.
 *
 * A missing browser is an error naming the Debian package and the script that installs it, never a
 * skipped test.
 */
import * as fs from 'node:fs';
import type { Browser, LaunchOptions } from 'playwright-core';

/** The Debian package that provides CHROMIUM_PATH. */
export const CHROMIUM_PACKAGE = 'chromium';
export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The chromium executable; throws naming the package when it is not installed. */
export function findChromium(executablePath = CHROMIUM_PATH): string {
  try {
    fs.accessSync(executablePath, fs.constants.X_OK);
    return executablePath;
  } catch {
    throw new Error(
      `chromium is not installed (no executable ${executablePath}): install the Debian package \`${CHROMIUM_PACKAGE}\` ` +
        `(apt-get install ${CHROMIUM_PACKAGE}, or \`bash .ci/install-test-tools\`, which CI runs)`,
    );
  }
}

/**
 * Starts chromium with a fresh profile: playwright's `launch()` passes `--user-data-dir` of a new
 * temporary folder and removes it on close, so nothing carries over between runs (no cache, no
 * service worker, no storage). Each `browser.newContext()` is isolated from the others as well (a
 * guest's phone and a kitchen screen in one browser).
 */
export async function launchChromium(options: { executablePath?: string; extraArgs?: readonly string[] } = {}): Promise<Browser> {
  const executablePath = findChromium(options.executablePath);
  const { chromium } = await import('playwright-core');
  const launch: LaunchOptions = { executablePath, headless: true, args: [...CHROMIUM_FLAGS, ...(options.extraArgs ?? [])] };
  return chromium.launch(launch);
}
