// headroom-wasm/ml: the whole root API (built with the ML compressor) plus the classes below.
export * from '../index.js';

export interface LLMLinguaLoadOptions {
  /** Called while the model and tokenizer download. */
  onProgress?: (progress: { file: 'model' | 'tokenizer'; loaded: number; total?: number }) => void;
}

export interface LLMLinguaCompressOptions {
  /** Fraction of the target LLM's tokens to keep, (0, 1]. Default 0.5. Not with targetTokens. */
  rate?: number;
  /** Tokens to keep, instead of rate. */
  targetTokens?: number;
  /** Strings always kept. */
  forceTokens?: string[];
  /** Keep every word with a digit. Default true. */
  forceReserveDigit?: boolean;
  /** Drop a force token that would repeat the previous one across dropped words. Default true. */
  dropConsecutive?: boolean;
  /** Past this many milliseconds the rest of the text passes through unchanged (with a warning). */
  deadlineMs?: number;
  /** The target LLM whose tokens are counted. Default "gpt-4o". */
  model?: string;
  /** What is ranked: single words ("word", default) or whole lines and sentences by their
   * tokens' mean keep probability, averaged with their neighbours' so kept lines come in runs
   * ("segment"; words with digits and force tokens still stay). */
  granularity?: 'word' | 'segment';
}

export interface LLMLinguaResult {
  compressed: string;
  originalTokens: number;
  compressedTokens: number;
  savingsPercentage: number;
  warnings: string[];
}

export class LLMLinguaCompressor {
  private constructor();
  /**
   * Loads a token-classification ONNX model (bytes or a URL) and its tokenizer.json (a JSON
   * string, an object or a URL), replacing any loaded model. With no arguments, the model shipped
   * in the package (models/default).
   */
  static load(
    model?: Uint8Array | ArrayBuffer | ArrayBufferView | string | URL,
    tokenizerJson?: string | object | URL,
    options?: LLMLinguaLoadOptions,
  ): Promise<LLMLinguaCompressor>;
  /** Synchronous; in browsers run it in a Web Worker. */
  compress(text: string, options?: LLMLinguaCompressOptions): LLMLinguaResult;
}

/** Frees the loaded model. */
export function unloadModel(): void;
/** Whether a model is loaded. */
export function isModelLoaded(): boolean;
