// The Swagger UI at /docs loads in headless Chromium and lists every operation of the
// OpenAPI document. Only the API runs (no Temporal needed to render the docs).
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { loadConfig } from '../../config';
import { freePort } from '../../scripts/ports';

let app: FastifyInstance;
let browser: Browser;
let baseUrl: string;

beforeAll(async () => {
  const config = loadConfig({
    ...process.env,
    NIU_SANDBOX: 'true',
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    API_PORT: String(await freePort()),
    LOG_LEVEL: 'silent',
  });
  app = await buildApp({ config });
  await app.listen({ host: config.api.host, port: config.api.port });
  baseUrl = config.api.publicUrl;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test('the Swagger UI page loads and lists the operations', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  const response = await page.goto(`${baseUrl}/docs`, { waitUntil: 'load' });
  expect(response?.status()).toBe(200);
  await page.waitForSelector('.opblock', { timeout: 30_000 });

  await expect(page.locator('.info .title').first().textContent()).resolves.toMatch(/Non-interactive users API/);
  const operations = await page
    .locator('.opblock')
    .evaluateAll((blocks) =>
      blocks.map(
        (b) =>
          `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ${b
            .querySelector('.opblock-summary-path')
            ?.getAttribute('data-path')}`,
      ),
    );
  expect(operations.sort()).toEqual(
    [
      'POST /v1/non-interactive-users',
      'GET /v1/non-interactive-users',
      'GET /v1/non-interactive-users/{id}',
      'POST /v1/non-interactive-users/{id}/cancel',
      'DELETE /v1/non-interactive-users/{id}',
      'GET /v1/non-interactive-users/{id}/deprovisioning',
      'POST /v1/non-interactive-users/{id}/rotate-password',
      'GET /v1/non-interactive-users/{id}/password-rotation',
      'GET /v1/environments',
      'GET /v1/environments/{environment}/capacity',
      'GET /v1/environments/{environment}/readiness',
      'GET /v1/environments/{environment}/non-interactive-users',
      'GET /v1/environments/{environment}/audit',
      'POST /v1/environments/{environment}/audit',
      'GET /healthz',
      'GET /readyz',
    ].sort(),
  );
  // The security scheme is offered (the Authorize button).
  await expect(page.locator('.btn.authorize').count()).resolves.toBeGreaterThan(0);
  await page.screenshot({ path: path.join(process.env.NIU_TEST_DIR ?? '/tmp', 'swagger-ui.png'), fullPage: true });
  expect(errors).toEqual([]);
  await page.close();
});
