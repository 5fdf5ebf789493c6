/**
 * Which Chromium the browser tests drive: Debian's /usr/bin/chromium when present (CI and
 * offline machines), else a browser Playwright installed; otherwise fail saying how to get one.
 */
import { existsSync } from 'node:fs';
import { chromium, type LaunchOptions } from '@playwright/test';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

const SYSTEM_CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumLaunchOptions(): LaunchOptions {
  const override = process.env.CONCLAVE_CHROMIUM;
  const system = override ?? SYSTEM_CHROMIUM;
  if (existsSync(system)) return { executablePath: system, args: SYSTEM_CHROMIUM_ARGS };
  if (existsSync(playwrightChromium())) return {};
  throw new Error(
    `No Chromium for the browser tests: install Debian's (sudo apt-get install -y chromium, giving ${SYSTEM_CHROMIUM}), ` +
      'or Playwright\'s (npx playwright install chromium), or point CONCLAVE_CHROMIUM at a Chromium binary.',
  );
}

/** Where Playwright's own Chromium would be; '' when Playwright cannot say. */
function playwrightChromium(): string {
  try {
    return chromium.executablePath();
  } catch {
    return '';
  }
}
