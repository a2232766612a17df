import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { ClientButton, ClientFieldset, ClientInput, ClientSelect } from "./client-controls.tsx";

// What the server sends, before React hydrates.
const serverHtml = (node: ReactNode) => renderToStaticMarkup(node);

describe("client controls on the server", () => {
  it("are disabled, whatever else they are given", () => {
    expect(serverHtml(<ClientButton className="primary" data-testid="b">Go</ClientButton>)).toBe('<button type="button" class="primary" data-testid="b" disabled="">Go</button>');
    expect(serverHtml(<ClientButton type="submit" disabled={false}>Go</ClientButton>)).toBe('<button type="submit" disabled="">Go</button>');
    // React writes an input's attributes in an order of its own.
    expect(serverHtml(<ClientInput name="n" />)).toMatch(/^<input (?=[^>]*name="n")(?=[^>]*disabled="")[^>]*\/>$/);
    expect(serverHtml(<ClientSelect aria-label="s"><option>a</option></ClientSelect>)).toBe('<select aria-label="s" disabled=""><option>a</option></select>');
    expect(serverHtml(<ClientFieldset className="form"><input /></ClientFieldset>)).toBe('<fieldset class="form" disabled=""><input/></fieldset>');
  });
});
