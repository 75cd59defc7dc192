/** The browser tests' launcher (tools/browser/chromium.ts): a missing chromium is an error naming the package, never a skip. */
import { CHROMIUM_FLAGS, CHROMIUM_PATH, findChromium, launchChromium } from '../../tools/browser/chromium';

const MISSING = '/nonexistent/chromium';
const MESSAGE = 'chromium is not installed (no executable /nonexistent/chromium): install the Debian package `chromium` (apt-get install chromium, or `bash .ci/install-test-tools`, which CI runs)';

test('finds the Debian chromium the browser tests use', () => {
  expect(findChromium()).toBe(CHROMIUM_PATH);
});

test('fails when chromium is missing, naming the Debian package and the install script', async () => {
  expect(() => findChromium(MISSING)).toThrow(MESSAGE);
  await expect(launchChromium({ executablePath: MISSING })).rejects.toThrow(MESSAGE);
});

test('starts headless without background traffic (this network refuses it)', () => {
  expect(CHROMIUM_FLAGS).toEqual(
    expect.arrayContaining(['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']),
  );
});
