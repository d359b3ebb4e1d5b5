// Vite's types for the page: CSS imports, import.meta.env.
/// <reference types="vite/client" />
