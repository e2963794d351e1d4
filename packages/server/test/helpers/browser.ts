import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it when missing), driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** Quiet, reproducible runs: no network of the browser's own, no sandbox (CI containers run as root). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export interface Browser {
  readonly context: BrowserContext;
  /**
   * What the pages wrote to the console as errors, and what they threw: a Content-Security-Policy
   * violation shows here, so a test can assert that the page keeps to the policy.
   */
  readonly problems: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Chromium with an empty profile of its own, trusting the server's self-signed certificate. `bypassCSP`
 * lets a test inject a script (axe-core), which the dashboard's policy rightly refuses.
 */
export async function openBrowser(options: { readonly bypassCSP?: boolean } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'portcullis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    ignoreHTTPSErrors: true,
    viewport: DESKTOP,
    bypassCSP: options.bypassCSP ?? false,
  });
  // Well inside vitest's 30 s, so that a missing element fails with the locator that waited for it.
  context.setDefaultTimeout(10_000);
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    problems,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

const require = createRequire(import.meta.url);

/** The serious and critical accessibility violations axe-core finds in the page as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const { violations, passes } = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[]; passes: unknown[] }> } }
    ).axe;
    const results = await axe.run();
    return { violations: results.violations, passes: results.passes.length };
  });
  // No passing rule at all would mean that axe checked nothing (an empty or unloaded page).
  if (passes === 0) throw new Error(`axe-core found nothing to check in ${page.url()}`);
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(({ id, impact, help, nodes }) => ({
      id,
      impact,
      help,
      nodes: nodes.map(({ target }) => ({ target })),
    }));
}
