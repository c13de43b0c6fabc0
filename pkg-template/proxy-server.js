// The proxy in Node: a node:http server that turns each request into a fetch Request, hands it
// to the shared handler and writes the Response back as it streams (no buffering of SSE).
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { init } from './node.js';
import { createProxyHandlerWith } from './proxy.js';

/**
 * Starts the proxy. `options`: the handler's options plus `port` (8787), `host` (127.0.0.1).
 * Resolves to `{ server, url, port, handler, close() }` once listening.
 */
export async function startProxyServer(options = {}) {
  const { port = 8787, host = '127.0.0.1', ...handlerOptions } = options;
  const handler = createProxyHandlerWith(init, handlerOptions);
  const server = createServer((req, res) => {
    serve(handler, req, res, host).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"type":"proxy_error"}}');
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = server.address().port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    handler,
    port: actual,
    url: `http://${shownHost}:${actual}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections?.();
      }),
  };
}

async function serve(handler, req, res, host) {
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(`http://${req.headers.host ?? host}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : undefined,
    duplex: hasBody ? 'half' : undefined,
    signal: abort.signal,
  });
  const response = await handler(request);
  const out = {};
  for (const [k, v] of response.headers) {
    if (k === 'set-cookie') continue;
    out[k] = v;
  }
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) out['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText || undefined, out);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  res.on('close', () => reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // Respect back-pressure: wait for the socket to drain before reading more.
    if (!res.write(value)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}
