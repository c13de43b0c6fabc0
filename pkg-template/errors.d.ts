/** Base class of every error headroom-wasm throws. */
export class HeadroomError extends Error {
  constructor(message: string, options?: { code?: string; details?: Record<string, unknown>; cause?: unknown });
  /** Stable machine-readable code, e.g. `unknown_role`, `invalid_config`, `wasm_trap`. */
  readonly code: string;
  /** Structured context: field names, message indexes, limits. */
  readonly details: Record<string, unknown>;
}
/** Invalid configuration: unknown keys, wrong types, NaN or negative numbers. */
export class ConfigurationError extends HeadroomError {}
/** Unknown provider, or a request no provider format matches. */
export class ProviderError extends HeadroomError {}
/** The compress-cache-retrieve store failed. */
export class StorageError extends HeadroomError {}
/** Compression failed and could not pass through; `wasm_trap` when the module trapped. */
export class CompressionError extends HeadroomError {}
/** The request is malformed: not JSON, wrong shape, unknown role, orphaned tool result, too large. */
export class ValidationError extends HeadroomError {}
export function fromEngineError(err: unknown): unknown;
