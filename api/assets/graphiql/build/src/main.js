// The GraphiQL bundle's entry: React, GraphiQL 5 and its Monaco editor, with the editor's
// workers served by the binary too. The page (api/assets/graphiql.html) imports `mount`.
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/style.css';

// WORKERS is defined by build.mjs: the workers' file names, which carry a content hash. Monaco
// asks for a worker by label; GraphiQL's `setup-workers/*` modules do this for Vite and
// webpack, whose worker syntax esbuild does not have.
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    const file = WORKERS[label] ?? WORKERS.editor;
    return new Worker(new URL(file, import.meta.url), { name: label });
  },
};

/**
 * Renders GraphiQL into `element`.
 * @param {HTMLElement} element
 * @param {{ url: string, subscriptionUrl?: string, defaultQuery?: string }} options
 */
export function mount(element, { url, subscriptionUrl, defaultQuery }) {
  const fetcher = createGraphiQLFetcher({ url, subscriptionUrl });
  createRoot(element).render(
    createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: false }),
  );
}
