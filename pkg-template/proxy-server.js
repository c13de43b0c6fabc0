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
      // Headers already out: the body broke; never append an error to a started answer.
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { 'content-type': 'application/json' });
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
  // The client going away aborts the request's signal (and with it the upstream call) and
  // cancels the answer's body; nothing more is written to it.
  const abort = new AbortController();
  let reader = null;
  let gone = false;
  const closed = new Promise((resolve) => {
    res.on('close', () => {
      gone = !res.writableFinished;
      abort.abort();
      if (gone) reader?.cancel().catch(() => {});
      resolve();
    });
  });
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
  if (gone || res.destroyed) return void response.body?.cancel().catch(() => {});
  const out = {};
  for (const [k, v] of response.headers) {
    if (k === 'set-cookie') continue;
    out[k] = v;
  }
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) out['set-cookie'] = cookies;
  // An answer given before the request body was read to its end (413): close the connection
  // after it rather than read the rest of an upload nobody wants.
  if (hasBody && !req.complete) out.connection = 'close';
  res.writeHead(response.status, response.statusText || undefined, out);
  if (!response.body) return void res.end();
  reader = response.body.getReader();
  let flushed = Promise.resolve();
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch {
      // The body failed mid-way (the upstream broke off): once what was written is out (an SSE
      // error event, say), end the response abnormally, so that the client cannot take what it
      // got for a complete answer.
      await Promise.race([flushed, closed]);
      return void res.destroy();
    }
    if (chunk.done) break;
    if (gone) return;
    let ok = true;
    flushed = new Promise((resolve) => {
      ok = res.write(chunk.value, () => resolve());
    });
    // Respect back-pressure: wait for the socket to drain (or close) before reading more.
    if (!ok) await drained(res);
  }
  res.end();
}

function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
