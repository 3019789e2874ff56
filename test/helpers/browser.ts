// Headless Chromium for the browser tests: Debian's package (`apt-get install -y chromium`;
// a test tool's own browser download cannot work here), driven by playwright-core. The flags
// keep it off the network it cannot reach and quiet on a root, GPU-less machine.
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}
