// Types of `headroom-wasm/proxy`.
import type { HeadroomConfig } from './index.js';

/** Where originals are kept, namespaced by tenant (a hash of the caller's API key). */
export interface CcrStore {
  get(tenant: string, hash: string): Promise<string | null>;
  put(tenant: string, hash: string, content: string): Promise<void>;
}

export class MemoryCcrStore implements CcrStore {
  constructor(options?: { maxEntries?: number; ttlSeconds?: number });
  get(tenant: string, hash: string): Promise<string | null>;
  put(tenant: string, hash: string, content: string): Promise<void>;
  readonly size: number;
}

/** Workers KV namespace binding as the CCR store; keys `tenant:hash`. */
export class KvCcrStore implements CcrStore {
  constructor(kv: { get(key: string): Promise<string | null>; put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void> }, options?: { ttlSeconds?: number });
  get(tenant: string, hash: string): Promise<string | null>;
  put(tenant: string, hash: string, content: string): Promise<void>;
}

export interface ProxyLogEntry {
  ts: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

export interface ProxyOptions {
  /** Upstream origins; the incoming path is appended. */
  upstreams?: { openai?: string; anthropic?: string; google?: string };
  /** "optimize" (default) or "audit" (forward unchanged, count what could be saved). */
  mode?: 'optimize' | 'audit';
  config?: HeadroomConfig;
  store?: CcrStore;
  /** USD of upstream usage (list prices) after which LLM routes answer 429. */
  budgetUsd?: number;
  /** Larger bodies get 413. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Retrieve detours per request, at most. Default 3. */
  maxRetrieveRounds?: number;
  /**
   * How long the upstream may take to send its status and headers, and then go quiet mid-answer,
   * before the call is aborted: a 504 `upstream_timeout`, or mid-stream an SSE `error` event and
   * an aborted stream. Default 600000 (10 minutes, as the OpenAI and Anthropic SDKs); 0: none.
   */
  upstreamTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Receives every log entry at or above logLevel; API keys are already redacted. */
  logger?: (entry: ProxyLogEntry) => void;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export type ProxyHandler = (request: Request) => Promise<Response>;

export function createProxyHandler(options?: ProxyOptions): ProxyHandler;

/** Node only: the handler behind a node:http server. */
export function startProxyServer(options?: ProxyOptions & { port?: number; host?: string }): Promise<{
  /** The node:http Server. */
  server: { close(callback?: () => void): unknown; address(): unknown };
  handler: ProxyHandler;
  port: number;
  url: string;
  close(): Promise<void>;
}>;

/** 16 hex digits of SHA-256 over the key, or "anonymous". */
export function tenantOf(apiKey: string | null | undefined): Promise<string>;
/** The key(s) and anything shaped like a provider key replaced with [REDACTED]. */
export function redact(text: string, key?: string | null | readonly string[]): string;
