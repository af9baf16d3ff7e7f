// Imports the router's entry and prints, as JSON, every module URL and file the import loaded:
// ESM through a resolve hook, CommonJS from require.cache. Run by import-graph.test.ts in a
// process of its own, so nothing the test runner loaded counts.
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const resolved = new Set();
port1.on('message', (url) => resolved.add(url));
port1.unref();
const hook = `let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { port: port2 }, transferList: [port2] });

await import('@shop/router');
// Let the last resolve messages arrive.
await new Promise((resolve) => setTimeout(resolve, 50));
const required = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify([...resolved, ...required]));
process.exit(0);
