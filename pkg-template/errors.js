// The error classes of headroom-wasm. Every entry point (node, workerd, browser, ml, proxy)
// imports this one module, so `instanceof` holds across entries.

export class HeadroomError extends Error {
  /**
   * @param {string} message
   * @param {{ code?: string, details?: Record<string, unknown>, cause?: unknown }} [options]
   */
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'headroom_error';
    this.details = options.details ?? {};
  }
}

export class ConfigurationError extends HeadroomError {}
export class ProviderError extends HeadroomError {}
export class StorageError extends HeadroomError {}
export class CompressionError extends HeadroomError {}
export class ValidationError extends HeadroomError {}

const CLASSES = {
  HeadroomError,
  ConfigurationError,
  ProviderError,
  StorageError,
  CompressionError,
  ValidationError,
};

/** Turns an error thrown by the wasm engine into the matching class; other errors pass through. */
export function fromEngineError(err) {
  const payload = err && typeof err === 'object' ? err.headroomError : undefined;
  if (typeof payload !== 'string') return err;
  let parsed;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return err;
  }
  const Cls = CLASSES[parsed.name] ?? HeadroomError;
  return new Cls(parsed.message, { code: parsed.code, details: parsed.details });
}
