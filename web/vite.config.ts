import { defineConfig } from "vite";

// The console builds into the Python package, which serves it at / (api/web/routes.py).
export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../api/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    modulePreload: { polyfill: false }, // no inline script: the CSP allows none
    sourcemap: false,
  },
});
