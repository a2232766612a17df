import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/**
 * No serious or critical axe violation on the page as it stands. Waits first for the document title:
 * after a client-side refresh `next dev` can be caught between removing the old <title> and streaming
 * the new one (seen once in CI as `document-title`); a page that never gets its title still fails here.
 */
export async function noSeriousA11yViolations(page: Page): Promise<void> {
  await expect(page).toHaveTitle(/\S/);
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical");
  expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`)).toEqual([]);
}
