// Lint for the whole monorepo (part of `pnpm test`).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/.next/**", "**/.next-*/**", "**/.next-*.tsconfig.json", "**/dist/**", "**/target/**", "packages/db/src/generated/**", ".data/**", "**/next-env.d.ts", "test-results/**", "playwright-report/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-console": "off",
    },
  },
  {
    // A control that a client component renders on the server is live before React hydrates it: a
    // click is lost, a form submits natively, typed text is reset. The gated ones wait for React.
    files: ["apps/web/src/**/*.tsx"],
    ignores: ["apps/web/src/components/ui/client-controls.tsx"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "Program:has(> ExpressionStatement[directive='use client']) JSXOpeningElement[name.name=/^(button|input|select|textarea)$/]:not(JSXElement[openingElement.name.name='ClientFieldset'] JSXOpeningElement)",
          message: "In a client component, use ClientButton, ClientInput or ClientSelect (@/components/ui/client-controls.tsx), or put the controls in a <ClientFieldset>: they stay disabled until hydrated.",
        },
      ],
    },
  },
);
