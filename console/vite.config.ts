// Vite's build of the web console: Preact through its preset, the files to
// dist/ (served by src/api/console-static.ts), hashed names under assets/.
// scripts/build-console.mjs runs it with this folder as the root.
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The page's CSP (script-src 'self') forbids inline scripts: no module preload polyfill inlined.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
