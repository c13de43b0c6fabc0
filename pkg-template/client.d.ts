// Types of HeadroomClient (client.js), re-exported by index.d.ts.
import type { CompressResult, HeadroomConfig, Mode } from './index.js';

/** One stored request metric (snake_case, as the seed's metrics). */
export interface RequestMetric {
  request_id: string;
  timestamp: string;
  provider: 'openai' | 'anthropic';
  model: string;
  mode: Mode;
  stream: boolean;
  tokens_input_before: number | null;
  tokens_input_after: number | null;
  tokens_saved: number;
  potential_tokens_saved: number | null;
  transforms_applied: string[];
  markers: number;
  retrieve_rounds: number;
  failed_open: boolean;
  tokens_output: number | null;
  latency_ms: number;
}

/** A metrics store: `add` may throw StorageError (the call still succeeds). */
export interface MetricsStore {
  add(record: RequestMetric): void;
  all(): RequestMetric[] | Promise<RequestMetric[]>;
  check?(): { ok: boolean; message: string };
}

export class MemoryMetricsStore implements MetricsStore {
  constructor(options?: { maxRecords?: number });
  add(record: RequestMetric): void;
  all(): RequestMetric[];
  check(): { ok: boolean; message: string };
}

/** Node only: `storeUrl: "jsonl:///abs/path"`. */
export class JsonlMetricsStore implements MetricsStore {
  constructor(url: string);
  readonly path: string;
  add(record: RequestMetric): void;
  all(): RequestMetric[];
  check(): { ok: boolean; message: string };
}

export function registerMetricsStore(scheme: string, factory: (url: string) => MetricsStore): void;

export interface HeadroomClientOptions<C> extends Omit<HeadroomConfig, 'defaultMode' | 'provider'> {
  /** An `openai` (OpenAI) or `@anthropic-ai/sdk` (Anthropic) client. */
  originalClient: C;
  /** Detected from the client when absent. */
  provider?: 'openai' | 'anthropic' | { name: string };
  /** Default "audit": wrapping changes nothing until asked. */
  defaultMode?: Mode;
  /** "memory" (default), "jsonl:///abs/path" (Node), or a MetricsStore. */
  storeUrl?: string | MetricsStore;
  /** Retrieve detours per call, at most. Default 3. */
  maxRetrieveRounds?: number;
}

/** The seed's per-request overrides, accepted in request bodies and stripped before sending. */
export interface HeadroomOverrides {
  headroom_mode?: Mode;
  headroom_output_buffer_tokens?: number;
  headroom_keep_turns?: number;
  headroom_tool_profiles?: Record<string, { skip_compression?: boolean; [k: string]: unknown }>;
}

export interface HeadroomStats {
  session: {
    requests_total: number;
    requests_optimized: number;
    requests_audited: number;
    requests_simulated: number;
    requests_failed: number;
    tokens_before_total: number;
    tokens_after_total: number;
    tokens_saved_total: number;
    savings_percent: number;
    retrieve_rounds_total: number;
  };
  config: { mode: Mode; provider: 'openai' | 'anthropic'; model: string; store_url: string; max_retrieve_rounds: number };
  transforms: {
    smart_crusher_enabled: boolean;
    cache_aligner_enabled: boolean;
    cache_optimizer_enabled: boolean;
    rolling_window_enabled: boolean;
    ccr_enabled: boolean;
  };
}

export interface SetupReport {
  valid: boolean;
  provider: { ok: boolean; name: string };
  config: { ok: boolean; mode: Mode };
  storage: { ok: boolean; message: string; url: string };
  issues: string[];
}

export interface HeadroomSummary {
  total_requests: number;
  total_tokens_before: number;
  total_tokens_after: number;
  total_tokens_saved: number;
  savings_percent: number;
  by_mode: Record<string, number>;
  failed_open: number;
  retrieve_rounds: number;
  avg_latency_ms: number;
}

export type SimulationResult = CompressResult & { transforms: string[] };

type AnyFn = (...args: any[]) => any;
// The SDKs overload `create` (non-streaming, streaming, either); keep each overload, accept the
// overrides in the body, and return a plain Promise (no `.withResponse()` on wrapped calls).
type Wrapped<F> = F extends {
  (body: infer B1, options?: infer O1): infer R1;
  (body: infer B2, options?: infer O2): infer R2;
  (body: infer B3, options?: infer O3): infer R3;
}
  ? {
      (body: B1 & HeadroomOverrides, options?: O1): Promise<Awaited<R1>>;
      (body: B2 & HeadroomOverrides, options?: O2): Promise<Awaited<R2>>;
      (body: B3 & HeadroomOverrides, options?: O3): Promise<Awaited<R3>>;
    }
  : F extends (body: infer B, options?: infer O) => infer R
    ? (body: B & HeadroomOverrides, options?: O) => Promise<Awaited<R>>
    : never;
type WithSimulate<T extends { create: AnyFn }> = Omit<T, 'create'> & {
  create: Wrapped<T['create']>;
  simulate(body: Parameters<T['create']>[0] & HeadroomOverrides): SimulationResult;
};
type Wrap<C> = Omit<C, 'chat' | 'responses' | 'messages'> &
  (C extends { chat: { completions: { create: AnyFn } } } ? { chat: Omit<C['chat'], 'completions'> & { completions: WithSimulate<C['chat']['completions']> } } : {}) &
  (C extends { responses: { create: AnyFn } } ? { responses: WithSimulate<C['responses']> } : {}) &
  (C extends { messages: { create: AnyFn } } ? { messages: WithSimulate<C['messages']> } : {});

export interface HeadroomClientMethods {
  getStats(): HeadroomStats;
  validateSetup(): SetupReport;
  getMetrics(filter?: { startTime?: Date | string | number; endTime?: Date | string | number; model?: string; mode?: Mode; limit?: number }): Promise<RequestMetric[]>;
  getSummary(): Promise<HeadroomSummary>;
  readonly headroom: import('./index.js').Headroom;
}

export type HeadroomClient<C> = Wrap<C> & HeadroomClientMethods;
export const HeadroomClient: {
  new <C extends object>(options: HeadroomClientOptions<C>): HeadroomClient<C>;
};

/**
 * Vercel AI SDK language-model middleware (specification v3), for `wrapLanguageModel`:
 * compresses tool results in the prompt, offers `headroom_retrieve` when a marker was left, and
 * answers the model's retrieve calls inside generate and stream.
 */
export function headroomMiddleware(
  options?: Omit<HeadroomConfig, 'defaultMode'> & {
    /** Default "optimize" (the middleware is opt-in already). */
    mode?: 'optimize' | 'audit';
    maxRetrieveRounds?: number;
    /** Use this engine (and its store of originals) instead of a new one. */
    headroom?: import('./index.js').Headroom;
    /** Called with each compress result. */
    onResult?: (result: CompressResult) => void;
  },
): {
  specificationVersion: 'v3';
  transformParams: (options: any) => PromiseLike<any>;
  wrapGenerate: (options: any) => PromiseLike<any>;
  wrapStream: (options: any) => PromiseLike<any>;
  stats(): { requests: number; tokensBefore: number; tokensAfter: number; tokensSaved: number; failed: number; retrieveRounds: number };
};
