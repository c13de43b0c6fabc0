// Types for headroom-wasm: the same API from every entry (Node, Workers, browsers).

export {
  HeadroomError,
  ConfigurationError,
  ProviderError,
  StorageError,
  CompressionError,
  ValidationError,
} from './errors.js';

export type Provider = 'openai' | 'anthropic' | 'google';
export type Mode = 'audit' | 'optimize' | 'simulate';

export interface RelevanceConfig {
  bm25K1?: number;
  bm25B?: number;
  relevanceThreshold?: number;
}

/** SmartCrusher (JSON tool outputs); defaults as in the seed's SmartCrusherConfig. */
export interface SmartCrusherConfig {
  enabled?: boolean;
  minItemsToAnalyze?: number;
  /** Only tool outputs above this many tokens are compressed. Default 200. */
  minTokensToCrush?: number;
  varianceThreshold?: number;
  uniquenessThreshold?: number;
  similarityThreshold?: number;
  /** Default 15. */
  maxItemsAfterCrush?: number;
  preserveChangePoints?: boolean;
  dedupIdenticalItems?: boolean;
  firstFraction?: number;
  lastFraction?: number;
  losslessMinSavingsRatio?: number;
  losslessOnly?: boolean;
  relevance?: RelevanceConfig;
}

export interface CacheAlignerConfig {
  mode?: 'off' | 'detect' | 'rewrite';
  extraDynamicLabels?: string[];
  entropyThreshold?: number;
  normalizeWhitespace?: boolean;
  collapseBlankLines?: boolean;
  dynamicTailSeparator?: string;
}

export interface CacheOptimizerConfig {
  enabled?: boolean;
  minCacheableTokens?: number;
}

export interface RollingWindowConfig {
  enabled?: boolean;
  /** The last N turns are never dropped. Default 2. */
  keepTurns?: number;
}

export interface CcrConfig {
  enabled?: boolean;
  /** Originals kept in memory (LRU). Default 1000. */
  maxEntries?: number;
  /** Default 1800 (30 minutes). */
  ttlSeconds?: number;
  /** When to add the headroom_retrieve tool: "auto" (whenever a marker is emitted, default), "always", "never". */
  injectTool?: 'auto' | 'always' | 'never';
}

export interface ToolProfile {
  skipCompression?: boolean;
  /** Overrides smartCrusher.maxItemsAfterCrush for this tool. */
  maxItems?: number;
  /** > 1 keeps more, < 1 keeps less. Default 1. */
  bias?: number;
}

/** Search results (`file:line:content`, grep/ripgrep). Defaults in parentheses. */
export interface SearchConfig {
  /** Up to this many matches nothing is dropped, only grouped by file (40). */
  keepAllBelow?: number;
  /** Matches kept in all (60). */
  maxMatches?: number;
  /** Per-file cap bounds (10 / 2). */
  maxPerFile?: number;
  minPerFile?: number;
  /** Files kept (25). */
  maxFiles?: number;
  /** Context rows kept around a kept match (2). */
  contextLines?: number;
  /** Cap multiplier for files the query names (3). */
  namedFileFactor?: number;
}

/** Build and test logs. Defaults in parentheses. */
export interface LogConfig {
  /** Logs shorter than this pass through (30). */
  minLines?: number;
  headLines?: number;
  tailLines?: number;
  contextBefore?: number;
  maxBlockLines?: number;
  maxErrors?: number;
  maxWarnings?: number;
  maxWarningLines?: number;
  maxSectionLines?: number;
  maxTraceLines?: number;
  minCollapse?: number;
}

/** Unified diffs: every +/- line and header is kept. */
export interface DiffConfig {
  /** Unchanged lines kept on each side of a change (1). */
  contextLines?: number;
  maxHunksPerFile?: number;
  maxFiles?: number;
}

/** Plain text: extractive, query-aware. */
export interface TextConfig {
  /** Share of the input kept, 0-1 (0.45). */
  targetRatio?: number;
  /** Inputs shorter than this many bytes pass through (1500). */
  minChars?: number;
  blockLines?: number;
  longLine?: number;
}

export interface ContentRouterConfig {
  enabled?: boolean;
  /** Tool outputs below this many tokens pass through. Default 200. */
  minTokens?: number;
  /** Error outputs below this many tokens are kept verbatim. Default 1000. */
  minErrorTokens?: number;
  /** Compress plain-text tool outputs too. Default true. */
  plainText?: boolean;
  search?: SearchConfig;
  log?: LogConfig;
  diff?: DiffConfig;
  text?: TextConfig;
}

export interface Limits {
  /** Default 64 MiB. */
  maxRequestBytes?: number;
  /** Default 100. */
  maxJsonDepth?: number;
  /** Soft deadline for the pipeline; off by default so output stays deterministic. */
  deadlineMs?: number;
}

/** `new Headroom(config)`. Unknown keys throw ConfigurationError. */
export interface HeadroomConfig {
  /** Default model when a request names none. Default "gpt-4o". */
  model?: string;
  /** Detected from each request's shape when absent. */
  provider?: Provider;
  /** Default "optimize". */
  defaultMode?: Mode;
  /** Default 4000. */
  outputBufferTokens?: number;
  /** Context-limit overrides; the longest matching model-name prefix wins. */
  modelContextLimits?: Record<string, number>;
  smartCrusher?: SmartCrusherConfig;
  cacheAligner?: CacheAlignerConfig;
  cacheOptimizer?: CacheOptimizerConfig;
  rollingWindow?: RollingWindowConfig;
  contentRouter?: ContentRouterConfig;
  ccr?: CcrConfig;
  toolProfiles?: Record<string, ToolProfile>;
  /** Tool names (glob patterns, `*` and `?`) whose outputs are never compressed. */
  excludeTools?: string[];
  limits?: Limits;
  /**
   * Price overrides for simulate()'s estimates, USD per 1M tokens, by model-name prefix (the
   * longest matching prefix wins). cachedInput defaults to input. Finite and >= 0.
   */
  pricing?: Record<string, { input: number; cachedInput?: number; output: number }>;
  /** The ML compressor: accepted only by `headroom-wasm/ml` (ConfigurationError here). */
  llmlingua?: LLMLinguaConfig;
}

/** The ML compressor's pipeline step (`headroom-wasm/ml` only). Present means on. */
export interface LLMLinguaConfig {
  /** Default true. */
  enabled?: boolean;
  /** Fraction of tokens kept in plain text, (0, 1]. Default 0.5. */
  rate?: number;
  /** Rate for source code; code passes through when absent. */
  codeRate?: number;
  /** Rate for JSON SmartCrusher left as it was; JSON passes through when absent. */
  jsonRate?: number;
  /** Rate for plain text; `rate` when absent. */
  textRate?: number;
  /** Strings always kept. */
  forceTokens?: string[];
  /** Keep words with digits. Default true. */
  forceReserveDigit?: boolean;
  /** Drop a force token that would repeat the previous one across dropped words. Default true. */
  dropConsecutive?: boolean;
  /** Budget for the step; past it content passes through, with a warning. */
  deadlineMs?: number;
  /** "cuda" needs a native server build; in wasm everything runs on the CPU. Default "auto". */
  device?: 'auto' | 'cpu' | 'cuda';
  /** Blocks under this many tokens pass through. Default 100. */
  minTokens?: number;
  /** What is ranked: single words ("word", default) or whole lines and sentences by their
   * tokens' mean keep probability ("segment"; words with digits and force tokens still stay). */
  granularity?: 'word' | 'segment';
}

/** Per-request options. */
export interface CompressOptions {
  mode?: Mode;
  model?: string;
  provider?: Provider;
  outputBufferTokens?: number;
  keepTurns?: number;
  toolProfiles?: Record<string, ToolProfile>;
  /** What the user asks about; defaults, per tool output, to the nearest user message before it plus its call's arguments. */
  query?: string;
  /** Treat the first N messages as cached by the provider: nothing in them changes. */
  frozenMessages?: number;
  /** Indices of messages (documents) whose text the ML compressor may compress, whatever their role. */
  compressibleMessages?: number[];
}

/** A messages array, a whole provider request body, or either as JSON text. */
export type Request = unknown[] | Record<string, unknown> | string;

export interface CompressResult {
  /** The messages, in the request's provider format. */
  messages: unknown[];
  /** The whole body (tools included), when a body was passed. */
  request?: Record<string, unknown>;
  tokensBefore: number;
  tokensAfter: number;
  tokensSaved: number;
  /** tokensAfter / tokensBefore. */
  compressionRatio: number;
  transformsApplied: string[];
  /** Retrieval hashes of the markers in the output. */
  markers: string[];
  warnings: string[];
  /** Milliseconds per transform, plus `total`. */
  timing: Record<string, number>;
  mode: Mode;
  provider: Provider;
  model: string;
  /** Audit mode only: what optimize would have saved. */
  potentialTokensSaved?: number;
  /** Bare messages arrays only: tool definitions to add to the request (the retrieve tool). */
  tools?: Record<string, unknown>[];
  /** 16 hex digits over the model, tools and system prompt (before its dynamic tail). */
  stablePrefixHash: string;
  /** 0-1: the share of the system prompt before its first volatile value (dates, IDs...). */
  cacheAlignmentScore: number;
  /** Tokens of the prefix a provider cache can serve (0 below cacheOptimizer.minCacheableTokens). */
  cacheableTokens: number;
  /** stablePrefixHash equals the previous request's on this instance. */
  estimatedCacheHit: boolean;
  /** simulate() only: tokensSaved at the model's input list price (absent for unknown models). */
  estimatedSavingsUsd?: number;
  /** simulate() only: e.g. "$0.0042 per request". */
  estimatedSavings?: string;
  /** simulate() only: input tokens by block kind (system, user, assistant, tool_call, tool_result, image, other, tool_definitions, overhead). */
  blockBreakdown?: Record<string, number>;
  /** simulate() only: waste in the input, in tokens (duplicate_tool_results, json_whitespace, base64_blobs, volatile_system_prompt, over_context_limit). */
  wasteSignals?: Record<string, number>;
}

export interface TransformStats {
  applied: number;
  failed: number;
  totalMs: number;
}

export interface Stats {
  requestsTotal: number;
  requestsFailed: number;
  requestsByMode: Partial<Record<Mode, number>>;
  tokensBeforeTotal: number;
  tokensAfterTotal: number;
  tokensSavedTotal: number;
  potentialTokensSavedTotal: number;
  savingsPercent: number;
  transforms: Record<string, TransformStats>;
  markersTotal: number;
  storeEntries: number;
}

export class Headroom {
  constructor(config?: HeadroomConfig);
  compress(request: Request, options?: CompressOptions): CompressResult;
  simulate(request: Request, options?: CompressOptions): CompressResult;
  /** The original content behind a marker's hash, or null if unknown or expired. */
  retrieve(hash: string): string | null;
  /** Tokens in a string, or in a whole request counted as providers bill it. */
  countTokens(textOrRequest: string | Request, model?: string): number;
  /**
   * Answers the model's `headroom_retrieve` tool call (OpenAI `tool_calls[i]`, Anthropic
   * `tool_use` block, or Google `functionCall` part) with the tool-result message to append.
   */
  answerRetrieveCall(toolCall: Record<string, unknown>): Record<string, unknown>;
  stats(): Stats;
  /** The effective configuration with defaults filled in. */
  config(): Required<HeadroomConfig>;
  /** USD per 1M tokens for a model (config `pricing` first, then the built-in list prices), or null. */
  modelPrice(model: string): { input: number; cachedInput: number; output: number } | null;
  /** A new engine with its own config that shares this one's store of originals. */
  withSharedStore(config?: HeadroomConfig): Headroom;
}

/**
 * Browsers: fetch and compile the module; call once before anything else. Node and Workers:
 * a no-op (importing is enough).
 */
export function init(input?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
/** One-call compression over a shared default instance. */
export function compress(request: Request, config?: HeadroomConfig): CompressResult;
/** The original behind a hash from the module-level `compress`, or null. */
export function retrieve(hash: string): string | null;
export function countTokens(textOrRequest: string | Request, model?: string): number;
/** Exact tiktoken count with a named encoding. */
export function countWithEncoding(text: string, encoding: 'o200k_base' | 'cl100k_base'): number;
/** The headroom_retrieve tool definition in a provider's format. */
export function retrieveToolDefinition(provider?: Provider): Record<string, unknown>;
export type ContentType = 'json' | 'search_results' | 'build_output' | 'diff' | 'html' | 'source_code' | 'plain_text';

/** Detects what a tool output is (fast: reads a bounded sample). */
export function detectContentType(content: string): {
  contentType: ContentType;
  confidence: number;
  metadata: Record<string, unknown>;
};

export interface TextCompressionResult {
  /** The compressed text; when lossy it ends with a `[headroom: ...hash=...]` marker line. */
  compressed: string;
  originalCount: number;
  compressedCount: number;
  unit: 'lines' | 'matches' | 'sentences';
  /** Compressed tokens / original tokens. */
  compressionRatio: number;
  /** Retrieval hash of the original when something was dropped, else null. */
  hash: string | null;
}

export interface TextCompressorOptions {
  /** The Headroom instance whose store keeps originals (default: the module-level one). */
  store?: Headroom;
}

declare class TextCompressorBase<C> {
  constructor(config?: C, options?: TextCompressorOptions);
  compress(content: string, options?: { query?: string }): TextCompressionResult;
}
export class SearchCompressor extends TextCompressorBase<SearchConfig> {}
export class LogCompressor extends TextCompressorBase<LogConfig> {}
export class DiffCompressor extends TextCompressorBase<DiffConfig> {}
export class TextCompressor extends TextCompressorBase<TextConfig> {}

/**
 * Decodes SmartCrusher's table format (`#headroom-table v1`) back into JSON deep-equal to the
 * original: arrays of records (`@table:N [rows]`), maps of records keyed by id (`@table:N {rows}`,
 * each row starting with its key) and arrays of several item shapes (`@table:N.1`, `@table:N.2`,
 * ..., each row starting with the item's index). Marker lines are left out.
 */
export function decodeTable(text: string): unknown;
export function version(): string;
/** Bytes of linear memory the wasm instance holds (its peak so far: wasm memory never shrinks). */
export function wasmMemoryBytes(): number;

export * from './client.js';
