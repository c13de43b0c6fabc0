// Node only: HeadroomClient metrics persisted as JSON lines (`storeUrl: "jsonl:///abs/path"`),
// one line per request, appended; getMetrics()/getSummary() read the file back.
import { appendFileSync, readFileSync, existsSync, mkdirSync, accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { registerMetricsStore } from './client.js';
import { ConfigurationError, StorageError } from './errors.js';

export class JsonlMetricsStore {
  constructor(url) {
    const path = decodeURIComponent(url.replace(/^jsonl:\/\//i, ''));
    if (!path.startsWith('/')) {
      throw new ConfigurationError(`a jsonl storeUrl needs an absolute path (jsonl:///abs/path), got '${url}'`, { code: 'invalid_store_url' });
    }
    this.path = path;
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch {}
  }

  add(record) {
    try {
      appendFileSync(this.path, JSON.stringify(record) + '\n');
    } catch (err) {
      throw new StorageError(`cannot append to ${this.path}: ${err.code ?? err.message}`, { code: 'store_write_failed', cause: err });
    }
  }

  all() {
    if (!existsSync(this.path)) return [];
    const rows = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        rows.push(JSON.parse(line));
      } catch {} // a torn last line from a crash is skipped
    }
    return rows;
  }

  check() {
    try {
      accessSync(existsSync(this.path) ? this.path : dirname(this.path), constants.W_OK);
      return { ok: true, message: `appending to ${this.path}` };
    } catch (err) {
      return { ok: false, message: `${this.path} is not writable (${err.code ?? err.message})` };
    }
  }
}

registerMetricsStore('jsonl', (url) => new JsonlMetricsStore(url));
